// The message catalogue: every string the client shows, Vietnamese first, English second.
// t("key", {name: "..."}) fills {name}; a missing key shows the key itself (and warns).

const catalogue = {
  vi: {
    "app.name": "Hội nghị truyền hình",
    "lang.switch": "English",
    "signin.title": "Đăng nhập",
    "signin.username": "Tên đăng nhập",
    "signin.password": "Mật khẩu",
    "signin.submit": "Đăng nhập",
    "signin.kiosk": "Điểm cầu đang đăng nhập bằng mã thiết bị…",
    "signout": "Đăng xuất",
    "conn.connecting": "Đang kết nối…",
    "conn.connected": "Đã kết nối",
    "conn.reconnecting": "Mất kết nối — đang kết nối lại…",
    "conn.closed": "Đã đóng kết nối",
    "lobby.waiting": "Phòng họp chưa mở. Vui lòng chờ chủ trì bắt đầu cuộc họp.",
    "lobby.starts": "Dự kiến bắt đầu: {time}",
    "lobby.ended": "Cuộc họp đã kết thúc.",
    "room.members": "Thành phần tham dự",
    "room.member_count": "{count} đang trong phòng",
    "room.you": "(bạn)",
    "room.muted": "đã tắt tiếng",
    "floor.title": "Phát biểu",
    "floor.nobody": "Chưa có ai được mời phát biểu",
    "floor.holder": "Đang phát biểu: {name}",
    "floor.you": "Bạn đang được phát biểu",
    "floor.until": "đến {time}",
    "floor.raise": "Xin phát biểu",
    "floor.lower": "Rút đăng ký phát biểu",
    "floor.queue": "Đăng ký phát biểu",
    "floor.queue_empty": "Chưa có đăng ký",
    "floor.grant": "Mời phát biểu",
    "floor.next": "Mời người tiếp theo",
    "floor.revoke": "Kết thúc phát biểu",
    "floor.seconds": "Thời gian (giây)",
    "mute.mute": "Tắt tiếng",
    "mute.unmute": "Bật tiếng",
    "mute.all": "Tắt tiếng tất cả điểm cầu",
    "mute.none": "Bật tiếng tất cả",
    "present.title": "Tài liệu đang trình chiếu",
    "present.none": "Chưa trình chiếu tài liệu",
    "present.doc_page": "Tài liệu số {doc} — trang {page}",
    "present.document": "Số tài liệu",
    "present.page": "Trang",
    "present.show": "Trình chiếu",
    "present.prev": "Trang trước",
    "present.next": "Trang sau",
    "present.stop": "Dừng trình chiếu",
    "rollcall.title": "Điểm danh",
    "rollcall.open": "Bắt đầu điểm danh",
    "rollcall.close": "Kết thúc điểm danh",
    "rollcall.open_now": "Đang điểm danh (lần {number})",
    "rollcall.head_count": "Số người có mặt tại điểm cầu",
    "rollcall.answer": "Xác nhận có mặt",
    "rollcall.answered": "Đã xác nhận: {count} người",
    "rollcall.waiting_for": "Chưa xác nhận: {names}",
    "rollcall.result": "Kết quả điểm danh lần {number}: {points} điểm cầu, {people} người",
    "chat.title": "Trao đổi",
    "chat.placeholder": "Nhập nội dung…",
    "chat.send": "Gửi",
    "chat.to_all": "Gửi tất cả",
    "chat.to_organizers": "Chỉ gửi chủ trì và thư ký",
    "chat.private": "(riêng)",
    "role.chair": "Chủ trì",
    "role.secretary": "Thư ký",
    "role.admin": "Quản trị",
    "role.official": "Đại biểu",
    "role.point": "Điểm cầu",
    "error.generic": "Có lỗi xảy ra: {detail}",
    "error.not_allowed": "Bạn không có quyền thực hiện thao tác này.",
    "error.room_not_open": "Phòng họp chưa mở.",
    "error.rate_limited": "Thao tác quá nhanh, vui lòng chờ giây lát.",
    "error.not_authenticated": "Vui lòng đăng nhập.",
    "error.session_expired": "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.",
    "error.invalid_credentials": "Sai tên đăng nhập hoặc mật khẩu.",
    "error.login_locked": "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.",
    "error.not_found": "Không tìm thấy cuộc họp.",
    "error.not_invited": "Bạn không có trong danh sách mời của cuộc họp này.",
    "error.muted_by_chair": "Chủ trì đã tắt tiếng của bạn.",
    "error.already_in_queue": "Bạn đã đăng ký phát biểu.",
    "error.network": "Không kết nối được máy chủ.",
  },
  en: {
    "app.name": "Video conference",
    "lang.switch": "Tiếng Việt",
    "signin.title": "Sign in",
    "signin.username": "Username",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.kiosk": "Conference point signing in with its device token…",
    "signout": "Sign out",
    "conn.connecting": "Connecting…",
    "conn.connected": "Connected",
    "conn.reconnecting": "Connection lost — reconnecting…",
    "conn.closed": "Connection closed",
    "lobby.waiting": "The room is not open yet. Please wait for the chair to start the meeting.",
    "lobby.starts": "Scheduled to start: {time}",
    "lobby.ended": "The meeting has ended.",
    "room.members": "Participants",
    "room.member_count": "{count} in the room",
    "room.you": "(you)",
    "room.muted": "muted",
    "floor.title": "Floor",
    "floor.nobody": "Nobody has the floor",
    "floor.holder": "Speaking: {name}",
    "floor.you": "You have the floor",
    "floor.until": "until {time}",
    "floor.raise": "Ask to speak",
    "floor.lower": "Withdraw request",
    "floor.queue": "Requests to speak",
    "floor.queue_empty": "No requests",
    "floor.grant": "Give the floor",
    "floor.next": "Next speaker",
    "floor.revoke": "End speech",
    "floor.seconds": "Time (seconds)",
    "mute.mute": "Mute",
    "mute.unmute": "Unmute",
    "mute.all": "Mute all points",
    "mute.none": "Unmute all",
    "present.title": "Document on screen",
    "present.none": "No document shown",
    "present.doc_page": "Document {doc} — page {page}",
    "present.document": "Document number",
    "present.page": "Page",
    "present.show": "Show",
    "present.prev": "Previous page",
    "present.next": "Next page",
    "present.stop": "Stop showing",
    "rollcall.title": "Roll call",
    "rollcall.open": "Start roll call",
    "rollcall.close": "End roll call",
    "rollcall.open_now": "Roll call in progress (no. {number})",
    "rollcall.head_count": "People present at this point",
    "rollcall.answer": "Confirm presence",
    "rollcall.answered": "Confirmed: {count} people",
    "rollcall.waiting_for": "Not yet confirmed: {names}",
    "rollcall.result": "Roll call no. {number}: {points} points, {people} people",
    "chat.title": "Messages",
    "chat.placeholder": "Type a message…",
    "chat.send": "Send",
    "chat.to_all": "To everyone",
    "chat.to_organizers": "Only to the chair and secretary",
    "chat.private": "(private)",
    "role.chair": "Chair",
    "role.secretary": "Secretary",
    "role.admin": "Admin",
    "role.official": "Official",
    "role.point": "Conference point",
    "error.generic": "Something went wrong: {detail}",
    "error.not_allowed": "You are not allowed to do this.",
    "error.room_not_open": "The room is not open yet.",
    "error.rate_limited": "Too fast; please wait a moment.",
    "error.not_authenticated": "Please sign in.",
    "error.session_expired": "Your session has expired. Please sign in again.",
    "error.invalid_credentials": "Wrong username or password.",
    "error.login_locked": "Too many failed sign-ins. Please try again later.",
    "error.not_found": "Meeting not found.",
    "error.not_invited": "You are not invited to this meeting.",
    "error.muted_by_chair": "The chair has muted you.",
    "error.already_in_queue": "You have already asked to speak.",
    "error.network": "Cannot reach the server.",
  },
};

const STORAGE_KEY = "hoinghi.lang";

export function language() {
  const saved = localStorage.getItem(STORAGE_KEY);
  return saved === "en" ? "en" : "vi";
}

export function setLanguage(lang) {
  localStorage.setItem(STORAGE_KEY, lang === "en" ? "en" : "vi");
  document.documentElement.lang = language();
}

export function t(key, params = {}) {
  const text = catalogue[language()][key] ?? catalogue.vi[key];
  if (text === undefined) {
    console.warn("missing message", key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// A problem code from the server in the reader's words, or its detail if we have none.
export function problemText(code, detail) {
  const key = `error.${code}`;
  const text = catalogue[language()][key] ?? catalogue.vi[key];
  return text ?? t("error.generic", { detail: detail || code });
}

export function formatTime(iso, zone) {
  return new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "vi-VN", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
  }).format(new Date(iso));
}

// Fill every element with data-i18n (text) or data-i18n-placeholder / -label attributes.
export function translatePage(root = document) {
  document.documentElement.lang = language();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]"))
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
