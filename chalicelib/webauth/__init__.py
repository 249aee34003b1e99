"""Public pages that know the follower: WeChat web authorization (OAuth) with a signed state and
no open redirect, a signed follower cookie, and the JS-SDK config for this app's pages."""
