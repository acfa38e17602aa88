"""Stand-in for ``vllm serve`` (vLLM cannot be installed on CPU machines): same CLI shape, /health, /v1/*.

Environment knobs: FAKE_VLLM_ARGV (write argv as JSON there), FAKE_VLLM_READY_AFTER (answer /health with 503
this many times first), FAKE_VLLM_CRASH (print a CUDA-style error and exit 1 at start-up), FAKE_VLLM_DELAY_S (sleep
this long before each completion), FAKE_VLLM_HEADERS (append each completion request's Authorization header, or
null, as a JSON line there), FAKE_VLLM_WORKER (start a worker process in the server's process group, as vLLM does,
and write its pid there).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"health_polls": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt: str, *args: object) -> None:
        print(fmt % args, flush=True)

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            STATE["health_polls"] += 1
            ready = STATE["health_polls"] > int(os.environ.get("FAKE_VLLM_READY_AFTER", "0"))
            self._send(200 if ready else 503, {})
        elif self.path == "/v1/models":
            self._send(200, {"data": [{"id": ARGS.served_model_name}]})
        else:
            self._send(404, {})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if os.environ.get("FAKE_VLLM_HEADERS"):
            with open(os.environ["FAKE_VLLM_HEADERS"], "a") as fh:
                fh.write(json.dumps(self.headers.get("Authorization")) + "\n")
        time.sleep(float(os.environ.get("FAKE_VLLM_DELAY_S", "0")))
        if body.get("model") != ARGS.served_model_name:
            self._send(404, {"error": f"model {body.get('model')} not served"})
            return
        if os.environ.get("FAKE_VLLM_BODIES"):
            with open(os.environ["FAKE_VLLM_BODIES"], "a") as fh:
                fh.write(json.dumps(body) + "\n")
        if (body.get("structured_outputs") or {}).get("choice"):  # vLLM >= 0.12 constrained choice
            content = body["structured_outputs"]["choice"][0]
        elif body.get("response_format"):
            content = '{"grade": "A"}'
        else:
            content = "A" if body.get("max_tokens", 0) <= 16 else "generated text"
        choices = [{"index": i, "message": {"role": "assistant", "content": content}} for i in range(body.get("n", 1))]
        if "prompt" in body:
            choices = [{"index": i, "text": content} for i in range(body.get("n", 1))]
        self._send(200, {"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 3}})


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("verb", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--served-model-name")
    ARGS, _ = parser.parse_known_args()
    if os.environ.get("FAKE_VLLM_ARGV"):
        with open(os.environ["FAKE_VLLM_ARGV"], "w") as fh:
            json.dump(sys.argv[1:], fh)
    if os.environ.get("FAKE_VLLM_CRASH"):
        print("RuntimeError: CUDA error: no CUDA-capable device is detected", flush=True)
        sys.exit(1)
    if os.environ.get("FAKE_VLLM_WORKER"):
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(os.environ["FAKE_VLLM_WORKER"], "w") as fh:
            fh.write(str(worker.pid))
    ThreadingHTTPServer((ARGS.host, ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
