"""A stand-in OpenAI-compatible grading server for tests (a test double: it lives under tests/, never in src/).

It answers ``POST /v1/chat/completions`` for the project's ``grade`` task by reading the gold and predicted answer
out of the user message and grading them with the deterministic rule grader, replying in the JSON form the
``openai`` backend asks for. A prediction containing ``fail_marker`` gets HTTP 500 instead: a judge call that
fails for exactly one known completion, through the real client, retries and strict parser.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from knowrl.judge.rule_grader import rule_grade

LETTERS = {"CORRECT": "A", "INCORRECT": "B", "NOT_ATTEMPTED": "C"}
_FIELDS = re.compile(r"Gold answer: (?P<gold>.*)\nPredicted answer: (?P<prediction>.*?)\n\n", re.S)


class GradingServer:
    """``with GradingServer(fail_marker="X") as url:`` -> ``http://127.0.0.1:PORT/v1``; ``requests`` counts calls."""

    def __init__(self, fail_marker: str = "UNSCORABLE"):
        self.fail_marker = fail_marker
        self.requests: list[dict] = []
        self.failed = 0
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> str:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._reply(200, {"object": "list", "data": [{"id": "stand-in", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                owner.requests.append(body)
                user = next((m["content"] for m in body.get("messages", []) if m["role"] == "user"), "")
                fields = _FIELDS.search(user)
                if fields is None:
                    self._reply(400, {"error": "not a grade request"})
                    return
                if owner.fail_marker in fields["prediction"]:
                    owner.failed += 1
                    self._reply(500, {"error": "stand-in judge failure"})
                    return
                grade, _ = rule_grade(fields["gold"], fields["prediction"])
                content = json.dumps({"grade": LETTERS[grade.value]})
                self._reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                                  "usage": {"prompt_tokens": len(user.split()), "completion_tokens": 5}})

            def _reply(self, code: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
