// A signing key that stays in this browser: ECDSA P-256 made by WebCrypto as
// non-extractable (no script, ours included, can read the private half), kept in
// IndexedDB per user with the id of the certificate the built-in CA issued for it.

const DB_NAME = "hoinghi-signing";
const STORE = "keys";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function supported() {
  return Boolean(window.isSecureContext && crypto?.subtle && window.indexedDB);
}

// {privateKey, publicKey, certificateId, createdAt} or null.
export async function storedKey(userId) {
  return (await withStore("readonly", (store) => store.get(String(userId)))) ?? null;
}

export async function saveKey(userId, record) {
  await withStore("readwrite", (store) => store.put(record, String(userId)));
}

export async function forgetKey(userId) {
  await withStore("readwrite", (store) => store.delete(String(userId)));
}

export async function generateKey() {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
}

export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

// The public half as base64 DER SubjectPublicKeyInfo, as the CA asks for it.
export async function publicKeyBase64(publicKey) {
  return toBase64(await crypto.subtle.exportKey("spki", publicKey));
}

// WebCrypto's ECDSA signature is r||s (64 bytes for P-256); the server takes it as is.
export async function signBytes(privateKey, bytes) {
  return toBase64(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, bytes));
}
