-- POST JSON bodies and print a JSON summary in done().
-- One argument (after `--`): a file holding one body, sent on every request.
-- Two arguments: a file of bodies, one per line, and a file of slots (body numbers, counted
-- from 1, separated by spaces): each request sends the body of a slot picked at random, so a
-- body is sent in proportion to the slots it fills (the --mix popularity table).
local requests = {}
local slots = nil
local thread_number = 0

setup = function(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number * 7919)  -- each thread its own, repeatable, stream
end

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function post(body)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

init = function(args)
  if args[2] == nil then
    requests[1] = post(read(args[1]))
    return
  end
  for line in read(args[1]):gmatch("[^\n]+") do
    requests[#requests + 1] = post(line)
  end
  slots = {}
  for number in read(args[2]):gmatch("%d+") do
    slots[#slots + 1] = tonumber(number)
  end
  math.randomseed(seed or 1)
end

request = function()
  if slots == nil then
    return requests[1]
  end
  return requests[slots[math.random(#slots)]]
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
      .. '"mean_us": %f, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.mean, latency.max, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout
  ))
end
