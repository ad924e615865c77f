// pa11y drives Debian's Chromium (/usr/bin/chromium, installed by `make chromium`): puppeteer must
// not download a browser of its own when `npm ci` installs it (there is no network for that).
module.exports = {skipDownload: true};
