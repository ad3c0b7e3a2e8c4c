"""A minimal OpenAI-compatible provider for the container test: a model list and one streamed answer.

The containers reach it through the host's address on the compose network, so it listens on a given address
instead of loopback.

    python3 Tests/container/fake_provider.py HOST PORT_FILE

Listens on HOST at a free port and writes that port to PORT_FILE once it accepts connections.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL = "fake-model"
# Multi-byte characters and a code block, split into chunks that cut through both.
ANSWER = "Container test answer: 你好, Grüße 👋\n\n```swift\nprint(\"ok\")\n```\nDone."
CHUNK = 7
API_KEY = "sk-container-test-0001"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send_json(self, payload, status=200):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self.send_json({"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            return self.send_json({"error": "not found"}, 404)
        if self.headers.get("Authorization", "") != f"Bearer {API_KEY}":
            return self.send_json({"error": {"message": "wrong API key"}}, 401)
        if not request.get("stream"):
            return self.send_json({"choices": [{"message": {"role": "assistant", "content": ANSWER}}],
                                   "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        pieces = [ANSWER[i:i + CHUNK] for i in range(0, len(ANSWER), CHUNK)]
        try:
            for piece in pieces:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "model": MODEL,
                         "choices": [{"index": 0, "delta": {"content": piece}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.01)
            usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": len(pieces),
                                                          "total_tokens": 12 + len(pieces)}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def main() -> None:
    host, port_file = sys.argv[1], Path(sys.argv[2])
    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
