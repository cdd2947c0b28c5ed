#pragma once
// call:menu, written in Lua because it is a loop over read/play/transfer
// that yields through them: no C++ frame sits between the script and the
// waits, so nothing here can be skipped by a longjmp. The chunk runs once
// per worker state, with the real base library (not the dialplan sandbox),
// and receives the call object's method table, to which it adds `menu`.
// Everything it needs from the library is captured at load, so what a
// dialplan does to its own globals cannot change a menu.
namespace tandem::lua {

inline constexpr const char kMenuChunk[] = R"LUA(
local methods = ...
local type, pairs, next, tostring, error = type, pairs, next, tostring, error
local tointeger, match = math.tointeger, string.match

local function fail(message) error("menu: " .. message, 3) end

local function is_prompt(value)
  return value == nil or type(value) == "string" or type(value) == "table"
end

-- Checks the spec and returns key -> action and the longest key's length.
local function actions_of(spec)
  if type(spec.options) ~= "table" or next(spec.options) == nil then
    fail("'options' must be a non-empty table of key = function, extension or true")
  end
  local actions, longest = {}, 1
  for key, action in pairs(spec.options) do
    if type(key) == "number" and tointeger(key) then key = tostring(tointeger(key)) end
    if type(key) ~= "string" or not match(key, "^[0-9*#A-D]+$") then
      fail("option keys are DTMF digits, got " .. tostring(key))
    end
    local kind = type(action)
    if kind ~= "function" and kind ~= "string" and action ~= true then
      fail("option '" .. key .. "' must be a function, an extension or true, got " .. kind)
    end
    actions[key] = action
    if #key > longest then longest = #key end
  end
  return actions, longest
end

function methods.menu(call, spec)
  if type(spec) ~= "table" then
    error("bad argument #1 to 'menu' (table expected, got " .. type(spec) .. ")", 2)
  end
  local actions, longest = actions_of(spec)
  for _, field in pairs({ "prompt", "on_invalid", "on_timeout" }) do
    if spec[field] ~= false and not is_prompt(spec[field]) then
      fail("'" .. field .. "' must be a prompt name or a list of them")
    end
  end
  local retries = spec.retries or 2
  if type(retries) ~= "number" or not tointeger(retries) or retries < 0 or retries > 100 then
    fail("'retries' must be an integer in 0..100")
  end
  local digits = spec.digits or longest
  if type(digits) ~= "number" or not tointeger(digits) or digits < 1 or digits > 64 then
    fail("'digits' must be an integer in 1..64")
  end
  local on_invalid = spec.on_invalid
  if on_invalid == nil then on_invalid = (call:get("language") or "en") .. "/invalid-option" end
  local read = {
    prompt = spec.prompt or nil, max = digits, timeout = spec.timeout or 5000,
    digit_timeout = spec.digit_timeout, terminator = spec.terminator or (digits > 1 and "#" or ""),
  }
  local why
  for _ = 0, retries do
    local key, reason = call:read(read)
    if reason == "hangup" then return nil, "hangup" end
    local action = key and actions[key]
    if action then
      if type(action) == "function" then return key, action(call, key) end
      if type(action) == "string" then call:transfer(action, spec.context) end
      return key
    end
    why = reason == "timeout" and (key or "") == "" and "timeout" or "invalid"
    local notice = why == "invalid" and on_invalid or spec.on_timeout
    if notice then call:play(notice) end
  end
  return nil, why
end
)LUA";

} // namespace tandem::lua
