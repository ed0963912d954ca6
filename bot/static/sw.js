// The OCOP web chat's service worker: the page's shell for a weak connection, and Web Push notices.
const SHELL = "ocop-shell-v2";
const SHELL_FILES = ["/", "/manifest.webmanifest", "/favicon.ico", "/icon-192.png"];
const KEPT = "ocop-pushed";  // notices pushed while no page was visible, shown by the page when it opens

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== SHELL && name !== KEPT) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The page from the network when it answers (it is the fresh one), else the copy kept at install: on a weak
// connection the chat still opens, with its history and what was typed waiting to be sent. The API is never cached.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname === "/") {
    event.respondWith((async () => {
      try {
        const fresh = await fetch(event.request);
        if (fresh.ok) (await caches.open(SHELL)).put("/", fresh.clone());
        return fresh;
      } catch (e) {
        return (await caches.match("/")) || Response.error();
      }
    })());
  } else if (SHELL_FILES.includes(url.pathname) && url.pathname !== "/") {
    event.respondWith(caches.match(event.request).then((kept) => kept || fetch(event.request)));
  }
});

async function keptNotices() {
  const found = await (await caches.open(KEPT)).match("/notices");
  return found ? found.json() : [];
}

async function keepNotices(notices) {
  await (await caches.open(KEPT)).put("/notices", new Response(JSON.stringify(notices.slice(-50)),
                                                               {headers: {"Content-Type": "application/json"}}));
}

// A notice arrives while the page is closed (or in the background): a notification, and the notice is kept until
// the page opens. A page that is open and visible shows it in the chat instead, and says so; a page that does not
// say so within a few seconds (it was closing as the push came) leaves the notification to be shown after all.
const seen = new Map();  // a notice's key → what tells its push handler the page has shown it

self.addEventListener("push", (event) => {
  let notice = {text: ""};
  try { notice = event.data.json(); } catch (e) { notice = {text: event.data ? event.data.text() : ""}; }
  event.waitUntil((async () => {
    const key = `${Date.now()}-${Math.random()}`;
    await keepNotices([...await keptNotices(), {...notice, key}]);
    const pages = await self.clients.matchAll({type: "window", includeUncontrolled: true});
    const visible = pages.filter((p) => p.visibilityState === "visible");
    if (visible.length) {
      const shown = new Promise((resolve) => { seen.set(key, resolve); setTimeout(() => resolve(false), 3000); });
      visible.forEach((p) => p.postMessage({notice, key}));
      const answered = await shown;
      seen.delete(key);
      if (answered) return;
    }
    const [title, ...rest] = (notice.text || "").split("\n");
    await self.registration.showNotification(title.slice(0, 120), {
      body: rest.join("\n").slice(0, 400), tag: "ocop-notice", renotify: true, icon: "/icon-192.png",
      badge: "/icon-192.png", data: {notice},
    });
  })());
});

// Tapping the notification opens the chat (or brings it forward); the page then asks for what was kept.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({type: "window", includeUncontrolled: true});
    if (pages.length) {
      const page = await pages[0].focus();
      page.postMessage({pushed: await keptNotices()});
      await keepNotices([]);
    } else {
      await self.clients.openWindow("/");
    }
  })());
});

// The page asks, on opening and whenever it becomes visible, for the notices pushed meanwhile: each shown once.
self.addEventListener("message", (event) => {
  if (event.data && event.data.seen) {  // a visible page showed a pushed notice: it is no longer kept for later
    event.waitUntil((async () => {
      await keepNotices((await keptNotices()).filter((n) => n.key !== event.data.seen));
      const resolve = seen.get(event.data.seen);
      if (resolve) resolve(true);
    })());
    return;
  }
  if (!event.data || event.data.want !== "pushed" || !event.source) return;
  event.waitUntil((async () => {
    const notices = await keptNotices();
    if (!notices.length) return;
    await keepNotices([]);
    event.source.postMessage({pushed: notices});
  })());
});
