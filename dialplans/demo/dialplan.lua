-- Demo dialplan. Contexts map dialled numbers to Lua functions; each call
-- runs in its own coroutine, so scripts read top to bottom.
-- See docs/dialplan.md for the API.

local ivr = require("ivr")   -- dialplans/demo/ivr.lua

return {
  on_error = function(call, err)
    call:log("warning", "dialplan error, playing congestion: " .. err)
    call:play("tone:425/250,0/250,425/250,0/250")
  end,

  contexts = {
    demo = {
      -- The IVR a caller reaches: greet, collect an account number, route.
      ["100"] = function(call)
        call:answer()
        call:on_hangup(function(c) c:log("caller left after " .. (c:get("menu_choice") or "no choice")) end)
        call:play("en/thank-you-for-calling")   -- keys pressed meanwhile wait for the menu
        local choice = ivr.main_menu(call)
        call:set("menu_choice", choice or "none")
        if choice == "1" then
          call:transfer("200")            -- sales, in this context
        elseif choice == "2" then
          call:transfer("600")            -- "support": the echo test
        end
        call:play("en/goodbye")
        call:hangup()
      end,

      -- "Sales": the queue (tandem.lua, module_config.queue) rings every
      -- agent logged in; the first to answer gets the caller, who hears music
      -- and "please hold" meanwhile. After two minutes, or on 0, the caller
      -- leaves the line and the script goes on: the overflow.
      ["200"] = function(call)
        call:answer()
        local status, detail = call:queue("sales")
        call:log("queue sales: " .. tostring(status) .. " " .. tostring(detail))
        if status ~= "completed" then
          call:play("en/goodbye")
        end
      end,

      -- Agents' feature codes: a softphone joins sales with *701 and leaves with *702.
      ["*701"] = function(call)
        call:answer()
        local state = call:agent_login(call.caller_num)
        call:play(state and "tone:440/200" or "tone:480+620/500")
      end,
      ["*702"] = function(call)
        call:answer()
        call:agent_logout(call.caller_num)
        call:play("tone:440/200")
      end,

      -- Echo test: a short beep, then everything you say comes back; '#'
      -- ends it.
      ["600"] = function(call)
        call:answer()
        call:play("tone:1000/300")
        call:echo()
      end,

      -- Playback test: a shipped prompt, a number said in Russian, and a
      -- short tone melody; any key stops it.
      ["601"] = function(call)
        call:answer()
        local key = call:play({ "en/thank-you-for-calling", "tone:0/300" }, { interrupt = true })
        key = key or call:say_number(21, { lang = "ru", gender = "f", interrupt = true })
        key = key or call:play({ "tone:0/300", "tone:523/300", "tone:659/300", "tone:784/300", "tone:1047/600",
                                 "tone:0/300" }, { interrupt = true })
        call:hangup()
      end,

      -- Music on hold: the shipped "default" class (modules/moh), with
      -- "please hold" over it every 20 seconds, for a minute.
      ["602"] = function(call)
        call:answer()
        call:moh_start()
        for _ = 1, 3 do
          call:play("en/please-hold")
          call:sleep(20000)
        end
        call:hangup()
      end,

      -- Endpoint to endpoint: dial the number's registered phone (480 /
      -- "noanswer" when it is not registered), then connect the two.
      ["_10XX"] = function(call)
        local status, leg = call:dial("sip/" .. call.exten, { timeout = 30 })
        call:log("call to endpoint " .. call.exten .. ": " .. status)
        if status == "answer" then
          call:answer()
          call:bridge(leg)
        elseif status == "busy" then
          call:hangup("user_busy")
        end
      end,

      -- Conference room: everybody who dials 700 hears everybody else; '#' leaves.
      ["700"] = function(call)
        call:answer()
        call:play("tone:1000/200")
        call:conference("demo-room", { exit_digits = "#" })
      end,

      -- Supervisor: 55XX listens to the call of endpoint 10XX (the agent);
      -- while listening, 5 whispers to the agent, 6 barges in, 4 listens
      -- again, # stops.
      ["_55XX"] = function(call)
        call:answer()
        local how = call:spy{ target = "sip/10" .. call.exten:sub(3), mode = "listen" }
        call:log("spy on 10" .. call.exten:sub(3) .. " ended: " .. how)
        if how == "not_found" or how == "busy" then call:play("en/invalid-option") end
      end,

      -- The scripted customer: waits for the IVR, presses 1 for sales,
      -- talks a little, hangs up.
      ["scripted-caller"] = function(call)
        call:answer()
        call:sleep(600)
        call:send_dtmf("1")
        call:sleep(3000)
        call:log("scripted caller hangs up")
        call:hangup()
      end,
    },

    agents = {
      -- Agent phones: agent-1 is busy, agent-2 answers after one second.
      ["agent-1"] = function(call) call:hangup("user_busy") end,
      ["_agent-."] = function(call)
        call:ring()
        call:sleep(1000)
        call:answer()
        call:play("tone:440/1500")
        call:sleep(5000)
      end,
    },
  },
}
