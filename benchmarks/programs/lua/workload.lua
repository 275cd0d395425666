-- A short, deterministic workload for the start-up benchmark: lua workload.lua [N]
-- It touches the parts of the interpreter a real script does (the parser, tables, strings and patterns,
-- closures, metatables, coroutines, errors through pcall, which are setjmp/longjmp, so wasm exceptions)
-- and prints a few lines and a checksum, identical on every conforming runtime.

local n = tonumber(arg[1]) or 200

local function fnv1a(hash, text)
  for i = 1, #text do
    hash = ((hash ~ text:byte(i)) * 16777619) & 0xffffffff
  end
  return hash
end

-- Records sorted with a comparator closure.
math.randomseed(42)
local records = {}
for i = 1, n do
  records[i] = { id = i, score = math.random(1, 1000), name = string.format("item-%04d", (i * 7919) % 10007) }
end
table.sort(records, function(a, b)
  if a.score ~= b.score then return a.score > b.score end
  return a.id < b.id
end)
local hash = 2166136261
for i = 1, #records do
  hash = fnv1a(hash, records[i].name .. ":" .. records[i].score)
end
print(string.format("sorted %d records, best %s (%d)", #records, records[1].name, records[1].score))

-- Strings and patterns.
local words = {}
local text = string.rep("the quick brown fox jumps over the lazy dog ", n // 10 + 1)
for word in text:gmatch("%a+") do words[word] = (words[word] or 0) + 1 end
local keys = {}
for word in pairs(words) do keys[#keys + 1] = word end
table.sort(keys)
local counts = {}
for _, word in ipairs(keys) do counts[#counts + 1] = word .. "=" .. words[word] end
local summary = table.concat(counts, " ")
hash = fnv1a(hash, summary)
local vowels = select(2, text:gsub("[aeiou]", "%0"))
print("words: " .. summary)
print("vowels: " .. vowels .. ", upper: " .. ("hello, world"):upper():gsub("O", "0"))

-- Metatables: a small vector type.
local Vector = {}
Vector.__index = Vector
local function vector(x, y) return setmetatable({ x = x, y = y }, Vector) end
Vector.__add = function(a, b) return vector(a.x + b.x, a.y + b.y) end
Vector.__mul = function(a, k) return vector(a.x * k, a.y * k) end
Vector.__tostring = function(v) return string.format("(%.3f, %.3f)", v.x, v.y) end
function Vector:length() return math.sqrt(self.x * self.x + self.y * self.y) end
local position = vector(0, 0)
for i = 1, n do position = position + vector(math.cos(i), math.sin(i)) * (1 / i) end
print("vector: " .. tostring(position) .. " length " .. string.format("%.6f", position:length()))
hash = fnv1a(hash, tostring(position))

-- Coroutines: a generator of primes.
local primes = coroutine.wrap(function()
  local found = {}
  local candidate = 2
  while true do
    local prime = true
    for _, p in ipairs(found) do
      if p * p > candidate then break end
      if candidate % p == 0 then prime = false break end
    end
    if prime then
      found[#found + 1] = candidate
      coroutine.yield(candidate)
    end
    candidate = candidate + 1
  end
end)
local last, total = 0, 0
for _ = 1, n do
  last = primes()
  total = total + last
end
print(string.format("primes: %d-th is %d, sum %d", n, last, total))
hash = fnv1a(hash, tostring(total))

-- Errors: raised and caught (each pcall is a setjmp, each error a longjmp).
local caught = 0
for i = 1, n do
  local ok, message = pcall(function()
    if i % 3 == 0 then error({ code = i }) end
    if i % 3 == 1 then error("odd " .. i, 0) end
    return i
  end)
  if not ok then
    caught = caught + 1
    hash = fnv1a(hash, type(message) == "table" and tostring(message.code) or message)
  end
end
local _, syntax_error = load("return 1 +")
print(string.format("errors: %d caught; load: %s", caught, syntax_error))
hash = fnv1a(hash, syntax_error)

print(string.format("checksum: %08x", hash))
