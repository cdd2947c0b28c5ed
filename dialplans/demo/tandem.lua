-- The demo instance: a working PBX on loopback with embedded defaults.
-- Until the SIP channel lands, a scripted caller places a call through the
-- local channel every 20 seconds so every step shows in the log and in
-- `tandem ctl calls` / `tandem ctl legs`.
return {
  instance = "demo",
  workers = 0,                 -- one per core
  modules = { "local" },
  dialplan = "dialplan.lua",   -- relative to this file
  log = { level = "info" },
  limits = { instructions = 10000000, memory_kb = 1024 },
  shutdown_grace = 5,
  originate = {
    -- A "customer" (the dialplan's scripted-caller entry) calls the IVR at 100.
    { dest = "local/scripted-caller@demo", exten = "100", context = "demo", delay = 1, every = 20,
      vars = { account = "4711" } },
  },
}
