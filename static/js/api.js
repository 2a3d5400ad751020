// Talking to the HTTP API: cookies for the session, the CSRF header on writes, and
// problem details turned into ApiError(code, status, detail).

export class ApiError extends Error {
  constructor(status, code, detail, data = {}) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.data = data; // the whole problem: some carry more (wrong_pin: tries_left)
  }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cookie("hoinghi_csrf");
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.code || "http_error", data.detail || "", data);
  return data;
}

// A file upload (multipart form) with progress: fetch cannot report how much of a request
// body has been sent, XMLHttpRequest can. onProgress(fraction) runs as the bytes leave.
export function upload(path, form, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", cookie("hoinghi_csrf"));
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => {
      let data = {};
      try {
        data = JSON.parse(xhr.responseText || "{}");
      } catch {
        // Not JSON (a proxy's page): the status alone says what happened.
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data.code || "http_error", data.detail || "", data));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "")));
    xhr.send(form);
  });
}

export async function signIn(username, password) {
  return api("/api/auth/login", { method: "POST", body: { username, password } });
}

// A kiosk link carries its device token in the fragment (#token=hd_...), which never
// reaches server logs; it is swapped for a session cookie and removed from the address.
export async function signInKioskFromLink() {
  const match = location.hash.match(/token=(hd_[A-Za-z0-9_-]+)/);
  if (!match) return false;
  history.replaceState(null, "", location.pathname + location.search);
  await api("/api/auth/point-login", { method: "POST", body: { device_token: match[1] } });
  return true;
}

export async function signOut() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // Signed out already, or offline: either way the page goes back to sign-in.
  }
}
