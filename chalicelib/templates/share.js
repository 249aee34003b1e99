(function () {
  "use strict";
  // WeChat's share card for this page: title, digest and cover, once wx.config is signed by
  // this app (/p/jssdk). Outside WeChat, or when signing fails, the page is just a page.
  var holder = document.getElementById("wx-share");
  if (!holder || !window.wx || !window.fetch || !/MicroMessenger/i.test(navigator.userAgent)) {
    return;
  }
  var card = JSON.parse(holder.textContent);
  var here = location.href.split("#")[0];
  fetch(card.jssdk + "?url=" + encodeURIComponent(here), { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (signed) {
      if (!signed) { return; }
      window.wx.config({
        debug: false,
        appId: signed.appId,
        timestamp: signed.timestamp,
        nonceStr: signed.nonceStr,
        signature: signed.signature,
        jsApiList: ["updateAppMessageShareData", "updateTimelineShareData"]
      });
      window.wx.ready(function () {
        window.wx.updateAppMessageShareData({
          title: card.title, desc: card.desc, link: card.link, imgUrl: card.imgUrl
        });
        window.wx.updateTimelineShareData({ title: card.title, link: card.link, imgUrl: card.imgUrl });
      });
    })
    .catch(function () {});
})();
