"""Browser test of the whole product: real backend and frontend binaries, a fake provider, headless Chromium.

Usage: python test_ui.py <bin-dir> <artefacts-dir> [<docs-screenshots-dir>]
Prints one line per step and closes with "N passed, N failed".
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import fake_provider

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN, ARTEFACTS = sys.argv[1], sys.argv[2]
DOCS = sys.argv[3] if len(sys.argv) > 3 else None
os.makedirs(ARTEFACTS, exist_ok=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


# The images run both servers as uid/gid 1001 with no capabilities (docker/entrypoint.sh); run as root, the test does
# the same, so that a call only root may make (such as a socket option needing CAP_NET_ADMIN) fails here too.
APP_UID = 1001
UNPRIVILEGED = os.geteuid() == 0
DROP_PRIVILEGES = ["setpriv", f"--reuid={APP_UID}", f"--regid={APP_UID}", "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--"]


def stage_for_app_user(bin_dir):
    """Copies the binaries and Resources into a folder the app user can read, wherever the checkout lies."""
    stage = tempfile.mkdtemp(prefix="aichat-browser-app-")
    os.chmod(stage, 0o755)
    for name in ("aichat-backend", "aichat-frontend"):
        shutil.copy2(os.path.join(bin_dir, name), stage)
    shutil.copytree(os.path.join(ROOT, "Resources"), os.path.join(stage, "Resources"))
    subprocess.run(["chmod", "-R", "a+rX", stage], check=True)
    return stage


class Product:
    """Fake provider, backend and frontend on free loopback ports, data in a temporary folder."""

    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="aichat-browser-")
        self.stage = stage_for_app_user(BIN) if UNPRIVILEGED else None
        app_dir = self.stage or BIN
        resources_root = self.stage or ROOT
        prefix = DROP_PRIVILEGES if UNPRIVILEGED else []
        if UNPRIVILEGED:
            os.chown(self.data, APP_UID, APP_UID)
        self.provider_port, self.backend_port, self.frontend_port = free_port(), free_port(), free_port()
        self.provider = fake_provider.serve(self.provider_port)
        threading.Thread(target=self.provider.serve_forever, daemon=True).start()
        env = dict(os.environ, HOME=self.data, APP_ENV="test", LOG_LEVEL="info", JWT_SECRET="browser-test-secret-" + "x" * 32,
                   ENCRYPTION_KEY="browser-test-key-" + "y" * 32, DATABASE_URL=f"file:{self.data}/app.db", APP_MODE="multi")
        self.logs = open(os.path.join(ARTEFACTS, "servers.log"), "w")
        self.backend = subprocess.Popen(prefix + [os.path.join(app_dir, "aichat-backend")], cwd=self.data, stdout=self.logs,
                                        stderr=subprocess.STDOUT, env=dict(env, PORT=str(self.backend_port)))
        self.frontend = subprocess.Popen(prefix + [os.path.join(app_dir, "aichat-frontend")], cwd=resources_root, stdout=self.logs,
                                         stderr=subprocess.STDOUT,
                                         env=dict(env, PORT=str(self.frontend_port), BACKEND_HOST="127.0.0.1", BACKEND_INTERNAL_PORT=str(self.backend_port)))
        wait_http(f"http://127.0.0.1:{self.backend_port}/api/settings/health")
        wait_http(f"http://127.0.0.1:{self.frontend_port}/api/health")
        self.url = f"http://127.0.0.1:{self.frontend_port}"

    def stop(self):
        for process in (self.frontend, self.backend):
            process.terminate()
        for process in (self.frontend, self.backend):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.provider.shutdown()
        self.logs.close()
        shutil.rmtree(self.data, ignore_errors=True)
        if self.stage:
            shutil.rmtree(self.stage, ignore_errors=True)


def make_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900", "--lang=zh-CN"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


class Run:
    def __init__(self, driver, product):
        self.driver, self.product = driver, product
        self.passed, self.failed = 0, 0
        self.wait = WebDriverWait(driver, 20)
        self.shots = []

    def step(self, name, fn):
        started = time.time()
        try:
            fn()
            self.passed += 1
            print(f"PASS {name} ({time.time() - started:.1f}s)", flush=True)
        except Exception:
            self.failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            self.shot(f"failure-{name.replace(' ', '-')}", docs=False)
        self.check_console(name)

    def check_console(self, name):
        problems = [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]
                    and "the server responded with a status of 4" not in e["message"]]
        for entry in problems:
            print(f"  console error during {name}: {entry['message']}", flush=True)
        if problems:
            self.failed += 1
            print(f"FAIL console errors during {name}", flush=True)

    def shot(self, name, docs=True):
        time.sleep(0.3)
        path = os.path.join(ARTEFACTS, f"{name}.png")
        self.driver.save_screenshot(path)
        if docs and DOCS:
            os.makedirs(DOCS, exist_ok=True)
            shutil.copy(path, os.path.join(DOCS, f"{name}.png"))

    def go(self, path):
        self.driver.get(self.product.url + path)

    def css(self, selector):
        return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))

    def visible(self, selector):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))

    def clickable(self, selector):
        return self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, selector)))

    def until(self, predicate, timeout=20, message=""):
        WebDriverWait(self.driver, timeout).until(lambda d: predicate(), message)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)


def main():
    product = Product()
    print(f"servers run as {'uid ' + str(APP_UID) + ' without capabilities (as in the images)' if UNPRIVILEGED else 'the current user'}",
          flush=True)
    driver = make_driver()
    run = Run(driver, product)
    d = driver
    try:
        def register():
            run.go("/auth/register")
            run.shot("register")
            run.css("#username").send_keys("admin_1")
            run.css("#password").send_keys("Passw0rd1")
            run.css("#confirm").send_keys("Passw0rd2")
            run.until(lambda: run.css("#client-error").is_displayed(), message="mismatch shown")
            assert "两次输入的密码不一致" in run.css("#client-error").text
            run.css("#confirm").clear()
            run.css("#confirm").send_keys("Passw0rd1")
            run.clickable("#submit").click()
            run.until(lambda: d.current_url.endswith("/main"), message="lands on /main")
            run.visible("#welcome")
            assert run.js("return document.cookie").find("token=") < 0, "token cookie must be HttpOnly"
        run.step("register", register)

        def login_page():
            d.delete_all_cookies()
            run.go("/main")
            run.until(lambda: "/auth/login" in d.current_url)
            run.css("#username").send_keys("admin_1")
            run.css("#password").send_keys("wrong-pass1")
            run.css("#submit").click()
            assert "用户名或密码错误" in run.visible("#form-error").text
            run.shot("login")
            run.css("#password").send_keys("Passw0rd1")
            run.css("#submit").click()
            run.until(lambda: "/main" in d.current_url and "/auth" not in d.current_url)
            run.visible("#welcome")
        run.step("login", login_page)

        def add_connection():
            run.go("/main?settings=1&main=system&sub=connections")
            dialog = run.visible(".settings-dialog")
            base = dialog.find_element(By.CSS_SELECTOR, "input[name=baseUrl]")
            base.send_keys(f"http://127.0.0.1:{product.provider_port}/v1")
            dialog.find_element(By.CSS_SELECTOR, "input[name=apiKey]").send_keys("sk-test-123456")
            dialog.find_element(By.CSS_SELECTOR, ".conn-form button[type=submit]").click()
            run.until(lambda: "127.0.0.1" in dialog.find_element(By.CSS_SELECTOR, ".conn-list").text, message="connection listed")
            run.shot("settings-system-connections")
            dialog.find_element(By.CSS_SELECTOR, ".settings-head .icon-btn").click()
            run.go("/main")
            run.until(lambda: "fake-model" in run.css("#model-label").text, message="model selected")
        run.step("add a connection", add_connection)

        def chat_markdown():
            box = run.visible("#input")
            box.send_keys("Show me markdown")
            box.send_keys(Keys.ENTER)
            run.until(lambda: "/main/" in d.current_url, message="session URL")
            run.until(lambda: "Done." in run.css(".msg-assistant .msg-content").text, message="answer complete")
            run.until(lambda: run.js("return !!document.querySelector('.msg-assistant .code-block .hljs-keyword')"), message="highlighted code")
            run.until(lambda: run.js("return !!document.querySelector('.msg-assistant .katex')"), message="formula rendered")
            assert run.js("return document.querySelectorAll('.msg-assistant table').length") == 1
            run.until(lambda: run.css("#usage-pill").is_displayed(), message="usage shown")
            run.until(lambda: "Show me markdown" in run.css(".session-row.active").text, message="sidebar title")
            run.shot("chat")
        run.step("chat with a streamed Markdown answer", chat_markdown)

        def hostile_formulas():
            # The fake provider's macro bombs (KaTeX before 0.16.10 froze the page on the \edef chain for tens of seconds)
            # end in an error, and a formula over the length cap stays as its source.
            box = run.css("#input")
            box.send_keys("pathological math please")
            box.send_keys(Keys.ENTER)
            answer = "[...document.querySelectorAll('.msg-assistant .msg-content')].pop()"
            run.until(lambda: "Done." in run.js(f"return {answer}.textContent")
                      and not run.js("return document.querySelector('#composer').classList.contains('is-streaming')"),
                      timeout=30, message="answer complete")
            run.until(lambda: run.js(f"return {answer}.querySelectorAll('.katex-error').length") == 2, message="both bombs stopped")
            assert run.js(f"return {answer}.querySelectorAll('code.math-source').length") == 1, "the long formula stays as text"
            assert not run.js(f"return !!{answer}.querySelector('.math-source .katex')")
            started = time.time()
            run.js("return 1")
            assert time.time() - started < 2, "the page stays responsive"
        run.step("formulas built to exhaust KaTeX do not freeze the page", hostile_formulas)

        def stop_generation():
            box = run.css("#input")
            box.send_keys("please be slow")
            box.send_keys(Keys.ENTER)
            run.until(lambda: "word3" in (run.js("const t=[...document.querySelectorAll('.msg-assistant')].pop(); return t ? t.textContent : ''") or ""), message="streaming")
            run.clickable("#send-button").click()
            run.until(lambda: "已停止生成" in run.js("return [...document.querySelectorAll('.msg-assistant')].pop().textContent"), message="stopped note")
            text = run.js("return [...document.querySelectorAll('.msg-assistant .msg-content')].pop().textContent")
            assert "END" not in text, "the answer must stop before its end"
            run.shot("stopped")
        run.step("stop a generation", stop_generation)

        def reload_mid_generation():
            box = run.css("#input")
            box.send_keys("slow again please")
            box.send_keys(Keys.ENTER)
            run.until(lambda: "word2" in (run.js("const t=[...document.querySelectorAll('.msg-assistant')].pop(); return t ? t.textContent : ''") or ""), message="streaming")
            d.refresh()
            run.until(lambda: "END" in (run.js("const t=[...document.querySelectorAll('.msg-assistant .msg-content')].pop(); return t ? t.textContent : ''") or "")
                      and not run.js("return document.querySelector('#composer').classList.contains('is-streaming')"),
                      timeout=30, message="re-attached answer completes")
            assert run.js("return document.querySelectorAll('.msg-user').length") >= 3
        run.step("reload mid-generation and see the answer complete", reload_mid_generation)

        def regenerate_and_edit():
            count = run.js("return document.querySelectorAll('.msg-assistant').length")
            run.js("[...document.querySelectorAll('.msg-assistant')].pop().querySelector('[aria-label=\"重新生成\"]').click()")
            run.until(lambda: run.js("return document.querySelector('#composer').classList.contains('is-streaming')"), message="regenerating")
            run.until(lambda: "END" in run.js("return [...document.querySelectorAll('.msg-assistant .msg-content')].pop().textContent") and not run.js("return document.querySelector('#composer').classList.contains('is-streaming')"),
                      timeout=30, message="regenerated")
            assert run.js("return document.querySelectorAll('.msg-assistant').length") == count
            run.js("document.querySelector('.msg-user [aria-label=\"编辑\"]').click()")
            area = run.visible(".edit-area")
            area.clear()
            area.send_keys("Edited question")
            area.send_keys(Keys.ENTER)
            run.until(lambda: run.js("return document.querySelectorAll('.msg-user').length") == 1 and "Done." in run.css(".msg-assistant .msg-content").text,
                      timeout=30, message="edit resent")
        run.step("regenerate and edit", regenerate_and_edit)

        last_turn = "[...document.querySelectorAll('.msg-assistant')].pop()"

        def last_answer():
            return run.js(f"return {last_turn}.querySelector('.msg-content').textContent").strip()

        def counter():
            return run.js(f"const v = {last_turn}.querySelector('.versions'); return v.hidden ? '' : v.querySelector('.version-counter [aria-hidden]').textContent")

        def idle():
            return not run.js("return document.querySelector('#composer').classList.contains('is-streaming')")

        def regenerate_last():
            run.js(f"{last_turn}.querySelector('[aria-label=\"重新生成\"]').click()")
            run.until(lambda: not idle(), message="regenerating")

        def browse_versions():
            box = run.css("#input")
            box.send_keys("numbered answer please")
            box.send_keys(Keys.ENTER)
            run.until(lambda: "Answer number" in last_answer() and idle(), timeout=30, message="first answer")
            first = last_answer()
            assert counter() == "", "one version has no switcher"
            regenerate_last()
            run.until(lambda: counter() == "2 / 2" and idle(), timeout=30, message="2 / 2")
            second = last_answer()
            assert second != first and "Answer number" in second, (first, second)
            prev = run.js(f"return {last_turn}.querySelector('.version-prev')")
            assert prev.get_attribute("aria-label") == "上一个版本"
            prev.click()
            run.until(lambda: last_answer() == first and counter() == "1 / 2", message="version 1 shown")
            assert prev.get_attribute("aria-disabled") == "true"
            assert run.js("return document.activeElement.classList.contains('version-prev')"), "focus stays on the switcher"
            assert run.js(f"return !!{last_turn}.querySelector('.turn-usage')"), "usage of version 1"
            run.shot("versions")
            prev.send_keys(Keys.ARROW_RIGHT)
            run.until(lambda: last_answer() == second and counter() == "2 / 2", message="forward by keyboard")
            run.js(f"return {last_turn}.querySelector('.version-prev')").click()
            run.until(lambda: last_answer() == first, message="back to version 1")
            regenerate_last()
            run.until(lambda: counter() == "3 / 3" and idle(), timeout=30, message="regenerated from version 1")
            third = last_answer()
            assert third not in (first, second), (first, second, third)
            d.refresh()
            run.until(lambda: run.js("return !!document.querySelector('.msg-assistant .versions')") and counter() == "3 / 3", message="versions after reload")
            assert last_answer() == third
            assert run.js("return document.querySelectorAll('.msg-user').length") == 2
        run.step("browse the versions of a regenerated answer", browse_versions)

        def expand_editor():
            text = "First line\nSecond line\nThird line"
            run.clickable("#expand-button").click()
            area = run.visible(".editor-dialog .editor-area")
            assert d.switch_to.active_element == area, "the big editor takes focus"
            area.send_keys("First line")
            ActionChains(d).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
            area.send_keys("Second line", Keys.ENTER, "Third line")
            assert run.js("return document.querySelector('.editor-dialog').open"), "Enter keeps the dialog open"
            assert run.js("return document.getElementById('input').value") == text, "text syncs to the input"
            run.shot("expand-editor")
            area.send_keys(Keys.ESCAPE)
            run.until(lambda: run.js("return !document.querySelector('.editor-dialog')"), message="Esc closes")
            assert run.js("return document.getElementById('input').value") == text, "Esc keeps the text"
            assert run.js("return document.activeElement.id") == "input"
            run.clickable("#expand-button").click()
            area = run.visible(".editor-dialog .editor-area")
            assert area.get_attribute("value") == text
            run.js("document.querySelector('.editor-dialog .editor-send').focus()")
            ActionChains(d).send_keys(Keys.TAB).perform()
            assert run.js("return !!document.activeElement.closest('.editor-dialog')"), "Tab stays in the dialog"
            area.click()
            ActionChains(d).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
            run.until(lambda: run.js("return !document.querySelector('.editor-dialog')"), message="sent and closed")
            run.until(lambda: run.js("return [...document.querySelectorAll('.msg-user .msg-text')].pop().textContent") == text, message="multi-line message sent")
            assert run.js("return document.getElementById('input').value") == ""
            run.until(lambda: "Done." in last_answer() and idle(), timeout=30, message="answered")
        run.step("write in the expand editor and send with Ctrl+Enter", expand_editor)

        pages = [("personal", "connections"), ("personal", "preferences"), ("personal", "security"), ("personal", "about"),
                 ("system", "general"), ("system", "reasoning"), ("system", "network"), ("system", "connections"), ("system", "models"), ("system", "users")]

        def settings_pages():
            run.go("/main?settings=1")
            run.visible(".settings-dialog")
            for group, page in pages:
                run.js("document.querySelector(`[data-page='${arguments[0]}']`).click()", f"{group}.{page}")
                time.sleep(0.6)
                text = run.css(".settings-pane").text
                assert "无法加载" not in text, f"{group}.{page} failed to load"
                if group == "system" and page == "models":
                    run.until(lambda: "fake-model" in run.css(".settings-pane").text, message="models listed")
                if group == "system" and page == "users":
                    run.until(lambda: "admin_1" in run.css(".settings-pane").text, message="users listed")
                run.shot(f"settings-{group}-{page}")
        run.step("open each settings page as admin", settings_pages)

        def wrong_password_keeps_session():
            run.js("document.querySelector(`[data-page='personal.security']`).click()")
            pane = run.visible(".settings-pane")
            fields = pane.find_elements(By.CSS_SELECTOR, "input[type=password]")
            fields[0].send_keys("Wrong0pass")
            fields[1].send_keys("NewPassw0rd")
            fields[2].send_keys("NewPassw0rd")
            pane.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            run.until(lambda: "当前密码不正确" in pane.text, message="error shown")
            assert "/main" in d.current_url
        run.step("a wrong current password shows an error", wrong_password_keeps_session)

        def create_user_and_login():
            run.js("document.querySelector(`[data-page='system.users']`).click()")
            pane = run.visible(".settings-pane")
            form = pane.find_element(By.CSS_SELECTOR, ".inline-form")
            inputs = form.find_elements(By.CSS_SELECTOR, "input")
            inputs[0].send_keys("bob_user")
            inputs[1].send_keys("Passw0rd9")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            run.until(lambda: "bob_user" in pane.text, message="user created")
            d.find_element(By.CSS_SELECTOR, ".settings-head .icon-btn").click()
            run.clickable("#user-button").click()
            run.clickable("#logout").click()
            run.until(lambda: "/auth/login" in d.current_url)
            run.css("#username").send_keys("bob_user")
            run.css("#password").send_keys("Passw0rd9")
            run.css("#submit").click()
            run.visible("#welcome")
            run.go("/main?settings=1")
            run.visible(".settings-dialog")
            assert not run.js("return !!document.querySelector(\"[data-page='system.general']\")"), "no system pages for users"
            for page in ("connections", "preferences", "security", "about"):
                run.js("document.querySelector(`[data-page='personal.${arguments[0]}']`).click()", page)
                time.sleep(0.4)
                assert "无法加载" not in run.css(".settings-pane").text
            run.shot("settings-as-user", docs=False)
        run.step("open each settings page as a user", create_user_and_login)

        def english_dark_phone():
            run.go("/main")
            run.clickable("#user-button").click()
            run.clickable("[data-theme-choice='dark']").click()
            run.until(lambda: run.js("return document.documentElement.dataset.theme") == "dark")
            d.set_window_size(390, 844)
            run.go("/main")
            run.clickable("#open-sidebar").click()
            run.until(lambda: run.js("return document.getElementById('app').classList.contains('drawer-open')"))
            run.shot("phone-drawer-dark")
            d.set_window_size(1366, 900)
            run.go("/main")
            run.clickable("#user-button").click()
            run.clickable("[data-action='language']").click()
            run.until(lambda: run.js("return document.documentElement.lang") == "en")
            assert "What can I help with?" in run.visible("#welcome").text
            run.shot("welcome-english-dark")
        run.step("dark mode, phone drawer and English", english_dark_phone)
    finally:
        driver.quit()
        product.stop()
    print(f"{run.passed} passed, {run.failed} failed", flush=True)
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
