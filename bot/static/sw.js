// Web Push for the OCOP web chat: a notice arrives while the page is closed (or in the background).
// A page that is open and visible shows it in the chat instead of a system notification.
self.addEventListener("push", (event) => {
  let notice = {text: ""};
  try { notice = event.data.json(); } catch (e) { notice = {text: event.data ? event.data.text() : ""}; }
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({type: "window", includeUncontrolled: true});
    const visible = pages.filter((p) => p.visibilityState === "visible");
    if (visible.length) {
      visible.forEach((p) => p.postMessage({notice}));
      return;
    }
    const [title, ...rest] = (notice.text || "").split("\n");
    await self.registration.showNotification(title.slice(0, 120), {
      body: rest.join("\n").slice(0, 400), tag: "ocop-notice", renotify: true, data: {notice},
    });
  })());
});
// Tapping the notification opens the chat with the notice in it, as if the page had been open.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const notice = (event.notification.data || {}).notice;
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({type: "window", includeUncontrolled: true});
    const page = pages.length ? await pages[0].focus() : await self.clients.openWindow(self.registration.scope);
    if (page && notice) page.postMessage({notice});
  })());
});
