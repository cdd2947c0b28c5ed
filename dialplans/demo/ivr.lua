-- IVR helpers for the demo dialplan (loaded with require("ivr")).
local ivr = {}

-- The main menu, with the shipped prompts (dialplans/sounds): "For sales,
-- press 1. For support, press 2." A key stops the prompt; silence or a
-- wrong key is tried again, three tries in all. Returns the key or nil.
function ivr.main_menu(call)
  local key, why = call:menu{
    prompt = "en/menu-sales-support",
    options = { ["1"] = true, ["2"] = true },
    timeout = 3000,
    retries = 2,
  }
  call:log(key and ("menu choice " .. key) or ("no menu choice: " .. why))
  return key
end

return ivr
