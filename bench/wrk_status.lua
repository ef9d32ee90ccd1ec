-- Counts responses whose status is not 200 (a redirect to the sign-in page is a failure here).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non200")
  end
  io.write(string.format("non200: %d\n", total))
end
