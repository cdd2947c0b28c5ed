-- IVR helpers for the demo dialplan (loaded with require("ivr")).
local ivr = {}

-- Plays the menu (a tone stands in for a recorded prompt until prompts ship)
-- and returns the digit pressed, or nil after two silent tries.
function ivr.main_menu(call)
  for attempt = 1, 2 do
    local digit = call:read({ prompt = "tone:350+440/400", min = 1, max = 1, timeout = 3000 })
    if digit then
      call:log("menu choice " .. digit .. " on attempt " .. attempt)
      return digit
    end
  end
  return nil
end

return ivr
