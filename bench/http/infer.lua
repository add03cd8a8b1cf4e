-- wrk script: POST the binary-extension body written by make-body.py to the path given as argument.
local f = io.open(os.getenv("BODY") or "body.bin", "rb")
wrk.body = f:read("*all")
f:close()
local lf = io.open((os.getenv("BODY") or "body.bin") .. ".len", "r")
local header_len = lf:read("*all")
lf:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = header_len

function init(args)
  if args[1] then wrk.path = args[1] end
end

function response(status, headers, body)
  if status ~= 200 then
    wrk.thread:stop()
  end
end
