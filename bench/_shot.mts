import { launchBrowser } from '../src/viewer/server/browser.ts';

const b = await launchBrowser({ width: 1280, height: 760 });
await b.page.goto('file:///work/wt/live/dist/live/app/index.html?autoplay');
await b.page.waitForFunction('document.body.dataset.ready', null, { timeout: 60000 });
await b.page.waitForFunction('window.live.session.step >= 600 && window.live.eos.length >= 2', null, { timeout: 580000, polling: 1000 });
await b.page.click('#play');
await b.page.evaluate('window.live.idle()');
console.log(await b.page.evaluate('document.getElementById("status").textContent + " | " + document.getElementById("rates").textContent'));
await b.page.screenshot({ path: '/tmp/live2.png' });
await b.close();
