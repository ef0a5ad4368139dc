// Headless Chromium for the page's tests and screenshots: Debian's own `chromium` package
// (installed by tests/browser/run), driven through playwright-core. No browser is downloaded.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.PULSE_CHROMIUM ?? "/usr/bin/chromium";

/** A fresh browser; close it when done. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
}

/** A page that fails the test on any script error the page itself raises. */
export async function newPage(browser, errors) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return page;
}

/** The page's root URL (the fake Slack's), from PULSE_UI_URL. */
export function uiUrl() {
  const url = process.env.PULSE_UI_URL;
  if (!url) throw new Error("PULSE_UI_URL is not set: run these through tests/browser/run or ./localstack/up --once --browser");
  return url.replace(/\/$/, "");
}

/**
 * One browser and page for a test file, opened at `path` once the page is drawn
 * (`readySelector`); `errors` collects what the page raised. Call `close()` in `after`.
 */
export async function session(path, readySelector, timeout = 45000) {
  const errors = [];
  const browser = await launch();
  const page = await newPage(browser, errors);
  await page.goto(`${uiUrl()}${path}`);
  await page.waitForSelector(readySelector, { timeout });
  return { browser, page, errors, close: () => browser.close() };
}
