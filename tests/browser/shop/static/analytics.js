// Test stand-in for an analytics tag: a global and its own first-party cookie.
window.shopAnalytics = true;
document.cookie = "_shop_an=1; Path=/; Max-Age=3600; SameSite=Lax";
