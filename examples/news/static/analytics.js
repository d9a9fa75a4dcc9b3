// Stand-in for an analytics tag: it records that it ran and sets its own
// first-party cookie, like Matomo's _pk_id does. It talks to no server.
window.newsAnalytics = { loaded: true, at: Date.now() };
document.cookie = "_pk_id.news=" + Math.random().toString(36).slice(2) + "; Path=/; Max-Age=3600; SameSite=Lax";
