// A point's self-test (/?view=self_test): camera, microphone, then the media path to the
// server and back. A point's result is recorded (POST /api/points/me/self-test) and its
// meetings' secretaries see it in their readiness card; a person (staff checking their
// own desk) sees the result, which is not recorded.
import { session, showError } from "../app.js";
import { api } from "../api.js";
import { figuresText, since } from "../health.js";
import { t } from "../i18n.js";
import { deviceProblem, LevelMeter, loopback, openDevices, testCard } from "../selftest.js";
import { el } from "../ui.js";

const LISTEN_MS = 4000;
const SIGNS = { waiting: "○", running: "…", passed: "✓", failed: "✕" };

function step(id, title) {
  const status = el("p", { class: "step-status", role: "status" }, t("selftest.waiting"));
  const sign = el("span", { class: "sign", "aria-hidden": "true" }, SIGNS.waiting);
  const item = el("li", { id: `step-${id}`, class: "step", "data-state": "waiting" }, el("h2", {}, sign, " ", title), status);
  item.set = (state, text) => {
    item.dataset.state = state;
    sign.textContent = SIGNS[state];
    status.textContent = text;
  };
  return item;
}

export async function render(view) {
  const isPoint = session.me?.kind === "point";
  const preview = el("video", { id: "selftest-preview", muted: true, autoplay: true, playsinline: true, "aria-label": t("selftest.preview") });
  const echo = el("video", { id: "selftest-echo", muted: true, autoplay: true, playsinline: true, "aria-label": t("selftest.echo") });
  // Muted as properties: the attribute alone does not mute an element made by script, and
  // the echo carries the microphone back (it would howl).
  preview.muted = true;
  echo.muted = true;
  const meter = el("meter", { id: "selftest-level", min: 0, max: 1, low: 0.02, optimum: 0.5, value: 0 });
  const figures = el("p", { class: "figures", id: "selftest-figures" });
  const camera = step("camera", t("selftest.step_camera"));
  // The pictures show while the test runs; the camera is released when it ends.
  const pictures = [el("figure", { hidden: true }, preview, el("figcaption", {}, t("selftest.preview")))];
  camera.append(pictures[0]);
  const microphone = step("microphone", t("selftest.step_microphone"));
  const meterBox = el("div", { class: "meter" }, el("label", { for: meter.id }, t("selftest.level")), meter);
  microphone.append(meterBox);
  const network = step("network", t("selftest.step_network"));
  pictures.push(el("figure", { hidden: true }, echo, el("figcaption", {}, t("selftest.echo"))));
  network.append(pictures[1], figures);
  const result = el("div", { id: "selftest-result", role: "status", "aria-live": "polite" }, el("p", { class: "empty" }, t("selftest.result_none")));
  const start = el("button", { type: "button", class: "primary huge", id: "selftest-start" }, t("selftest.start"));
  const recent = el("ul", { class: "list", id: "selftest-recent" });
  const page = el(
    "div",
    { class: "selftest" },
    el(
      "section",
      { class: "card" },
      el("h1", {}, t("selftest.title")),
      el("p", {}, t("selftest.intro")),
      el("p", { class: isPoint ? "" : "warning-text", id: "selftest-who" }, isPoint ? t("selftest.as_point", { name: session.me.point.name }) : t("selftest.as_person")),
      start,
    ),
    el("ol", { class: "steps" }, camera, microphone, network),
    el("section", { class: "card", "aria-labelledby": "selftest-result-title" }, el("h2", { id: "selftest-result-title" }, t("selftest.result")), result),
    isPoint ? el("section", { class: "card", "aria-labelledby": "selftest-recent-title" }, el("h2", { id: "selftest-recent-title" }, t("selftest.recent")), recent) : "",
  );
  view.append(page);

  const showRecent = async () => {
    if (!isPoint) return;
    try {
      const tests = await api(`/api/points/${session.me.point.id}/self-tests?limit=5`);
      recent.replaceChildren(
        ...(tests.length
          ? tests.map((test) =>
              el(
                "li",
                { "data-passed": test.passed ? "yes" : "no" },
                el("span", { class: "name" }, since(test.at, session.zone)),
                el("span", { class: `health ${test.passed ? "ready-yes" : "ready-no"}` }, t(test.passed ? "selftest.passed" : "selftest.failed")),
                el("span", { class: "role" }, figuresText(test.figures)),
              ),
            )
          : [el("li", { class: "empty" }, t("selftest.none_yet"))]),
      );
    } catch (error) {
      showError(error);
    }
  };
  showRecent();

  start.addEventListener("click", async () => {
    start.disabled = true;
    result.replaceChildren();
    try {
      await run();
    } catch (error) {
      showError(error);
    } finally {
      start.disabled = false;
      start.textContent = t("selftest.again");
    }
  });

  async function run() {
    for (const s of [camera, microphone, network]) s.set("waiting", t("selftest.waiting"));
    figures.textContent = "";
    meter.value = 0;
    for (const figure of pictures) figure.hidden = false;
    camera.set("running", t("selftest.camera_opening"));
    microphone.set("running", t("selftest.camera_opening"));
    const devices = await openDevices();
    const stream = devices.stream;
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    let meterTimer = null;
    let level = null;
    const sent = new MediaStream();
    let card = null;
    try {
      // The camera: its picture on the page.
      let cameraOk = false;
      if (videoTrack) {
        preview.srcObject = new MediaStream([videoTrack]);
        preview.play().catch(() => {});
        cameraOk = await new Promise((resolve) => {
          const started = Date.now();
          const wait = () => (preview.videoWidth > 0 ? resolve(true) : Date.now() - started > 5000 ? resolve(false) : setTimeout(wait, 100));
          wait();
        });
        camera.set(cameraOk ? "passed" : "failed", cameraOk ? t("selftest.camera_ok", { label: videoTrack.label || "" }) : t("selftest.camera_no_picture"));
      } else camera.set("failed", deviceProblem(devices.camera, "camera"));

      // The microphone: listen while the network is tested.
      const listenStart = Date.now();
      if (audioTrack) {
        level = new LevelMeter(audioTrack);
        meterTimer = setInterval(() => (meter.value = level.read()), 100);
        microphone.set("running", t("selftest.mic_listening"));
      } else microphone.set("failed", deviceProblem(devices.microphone, "microphone"));
      meterBox.hidden = !audioTrack;

      // The network: whatever there is to send (a test card when the camera is missing).
      if (videoTrack) sent.addTrack(videoTrack);
      else {
        card = testCard();
        sent.addTrack(card);
      }
      if (audioTrack) sent.addTrack(audioTrack);
      network.set("running", t("selftest.net_offer"));
      const net = await loopback(sent, {
        onEcho: (stream) => {
          echo.srcObject = stream;
          echo.play().catch(() => {});
        },
        onState: (text) => network.set("running", text),
      });
      figures.textContent = figuresText(net.figures);
      const passedText = card ? t("selftest.net_ok_card") : t("selftest.net_ok");
      network.set(net.ok ? "passed" : "failed", net.ok ? passedText : t("selftest.net_failed", { reason: net.problem }));

      let micOk = false;
      if (level) {
        const left = LISTEN_MS - (Date.now() - listenStart);
        if (left > 0 && !level.heard) await new Promise((resolve) => setTimeout(resolve, left));
        micOk = level.heard;
        microphone.set(micOk ? "passed" : "failed", micOk ? t("selftest.mic_ok") : t("selftest.mic_silent"));
      }
      if (!page.isConnected) return;
      await finish({ camera: cameraOk, microphone: micOk, network: net.ok, figures: { ...net.figures, ...(level ? { mic_peak: Math.round(level.peak * 100) / 100 } : {}) } });
    } finally {
      clearInterval(meterTimer);
      level?.close();
      card?.stop();
      for (const track of stream.getTracks()) track.stop();
      for (const figure of pictures) figure.hidden = true;
      preview.srcObject = null;
      echo.srcObject = null;
      meter.value = 0;
    }
  }

  async function finish(outcome) {
    const passed = outcome.camera && outcome.microphone && outcome.network;
    const failed = ["camera", "microphone", "network"].filter((part) => !outcome[part]).map((part) => t(`selftest.part_${part}`));
    const verdict = el(
      "p",
      { class: `big health ${passed ? "ready-yes" : "ready-no"}`, id: "selftest-verdict" },
      el("span", { class: "sign", "aria-hidden": "true" }, passed ? "✓" : "✕"),
      passed ? t("selftest.all_ok") : t("selftest.not_ok", { parts: failed.join(", ") }),
    );
    result.replaceChildren(verdict);
    if (!isPoint) {
      result.append(el("p", { id: "selftest-recorded" }, t("selftest.not_recorded")));
      return;
    }
    try {
      const saved = await api("/api/points/me/self-test", { method: "POST", body: outcome });
      result.append(el("p", { id: "selftest-recorded" }, t("selftest.recorded", { time: since(saved.at, session.zone) })));
      showRecent();
    } catch (error) {
      result.append(el("p", { class: "error" }, t("selftest.not_saved")));
      showError(error);
    }
  }
}
