(function () {
  "use strict";
  // WeChat's share card for this page: title, digest and cover, once wx.config is signed by
  // this app (/p/jssdk). WeChat's JS-SDK is fetched inside WeChat only; elsewhere, or when
  // loading or signing fails, the page is just a page.
  var holder = document.getElementById("wx-share");
  if (!holder || !window.fetch || !/MicroMessenger/i.test(navigator.userAgent)) {
    return;
  }
  var card = JSON.parse(holder.textContent);
  var sdk = document.createElement("script");
  sdk.src = card.jweixin;
  sdk.onload = function () { if (window.wx) { share(card); } };
  document.head.appendChild(sdk);

  function share(card) {
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
  }
})();
