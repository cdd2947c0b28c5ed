-- The demo instance: a small PBX on loopback with embedded defaults.
--
-- SIP on 127.0.0.1:5060 (UDP and TCP); the environment variable
-- TANDEM_DEMO_SIP_LISTEN (e.g. "sip:127.0.0.1:5070") moves it. Endpoints
-- 1001-1010 get random passwords at first start: printed once in the log and
-- kept in <data dir>/sip-passwords (mode 0600). Register a softphone as
-- 1001@127.0.0.1 with its password; dial 600 (echo test), 601 (playback of shipped prompts),
-- 602 (music on hold), 100 (the IVR) or another endpoint (1002 ...).
--
-- A scripted caller also places a call through the local channel every 20
-- seconds, so every step shows in the log and in `tandem ctl calls` /
-- `tandem ctl legs`.
return {
  instance = "demo",
  workers = 0,                 -- one per core
  -- codec_opus and codec_g722: phones may talk Opus or G.722 besides G.711
  -- (docs/codecs.md); module_config.codec_opus would tune Opus
  modules = { "local", "sip", "moh", "codec_opus", "codec_g722", "queue" },
  module_config = {
    -- The call centre (docs/queues.md): "sales" at 200 rings its agents' phones
    -- at once. agent-1 and agent-2 are scripted phones (the dialplan's
    -- `agents` context); 1001 and 1002 are softphones that join with *701 and
    -- leave with *702 (feature codes in the dialplan). `tandem ctl queue show`
    -- shows the line and live statistics.
    queue = {
      agents = {
        { name = "agent-1", contact = "local/agent-1@agents", login = true },
        { name = "agent-2", contact = "local/agent-2@agents", login = true },
        { name = "1001", contact = "sip/1001" },
        { name = "1002", contact = "sip/1002" },
      },
      queues = {
        { name = "sales", strategy = "ring-all", ring_timeout = 15, max_wait = 120,
          announce_every = 30, announce = { "en/please-hold" }, exit_keys = "0",
          members = { "agent-1", "agent-2", "1001", "1002" } },
      },
    },
    -- Music on hold: without `classes`, one class "default" from
    -- sounds/moh/default (see modules/moh/README.md), e.g.
    -- moh = { classes = { { name = "default", directory = "moh/default" },
    --                     { name = "sales", files = { "/srv/moh/sales.ogg" }, rate = 16000 } } },
    sip = {
      listen = "sip:127.0.0.1:5060",
      listen_env = "TANDEM_DEMO_SIP_LISTEN",
      endpoints = "1001-1010",
      passwords_file = "sip-passwords",   -- in the data directory
      endpoint_context = "demo",
      context = "demo",
      -- Overload control: above these the demo answers 503 with Retry-After.
      max_calls = 200, cps = 50,
      -- A provider trunk (see channels/sip/README.md, "Trunks"); the dialplan
      -- would dial it with call:dial("sip/provider/" .. number).
      -- trunks = {
      --   { name = "provider", host = "sip.provider.example", register = true,
      --     username = "4930123456", password = "secret", caller_id = "strip:0,add:+49",
      --     context = "demo", allowed_ips = { "198.51.100.0/24" }, max_calls = 10, qualify = 30 },
      -- },
    },
  },
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
