#!/usr/bin/env node
// pa11y (HTML_CodeSniffer, WCAG 2 AA) on many pages with one browser: tests/validation.py runs it.
//
// Input (a JSON file named on the command line):
//   {"chromium": "/usr/bin/chromium", "args": [...], "standard": "WCAG2AA", "concurrency": 2,
//    "groups": [{"label": "union", "cookies": [{"name", "value", "domain"}], "urls": [...]}]}
// Output (stdout, JSON): [{"label", "url", "pageUrl", "status", "issues": [...], "error": null | "..."}]
// Each group (one signed-in person) has a browser context of its own, holding its cookies, so
// that redirects and the page's own requests carry the session too. Only errors are reported:
// pa11y's warnings and notices ask for a person's judgement.
'use strict';

const fs = require('fs');
const puppeteer = require('puppeteer');
const pa11y = require('pa11y');

async function checkGroup(browser, group, options, results) {
	const context = await browser.createBrowserContext();
	try {
		if (group.cookies && group.cookies.length) {
			await context.setCookie(...group.cookies);
		}
		const queue = [...group.urls];
		const worker = async () => {
			for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
				const page = await context.newPage();
				try {
					// The page is loaded here rather than by pa11y, which waits for the network
					// to be idle for half a second on every page: the 'load' event is enough.
					const response = await page.goto(url, {waitUntil: 'load', timeout: options.timeout});
					const found = await pa11y(url, {
						browser,
						page,
						ignoreUrl: true,
						standard: options.standard,
						timeout: options.timeout,
						log: {debug() {}, error() {}, info() {}}
					});
					results.push({
						label: group.label,
						url,
						pageUrl: page.url(),
						status: response ? response.status() : null,
						issues: found.issues,
						error: null
					});
				} catch (error) {
					results.push({label: group.label, url, pageUrl: null, status: null, issues: [], error: String(error)});
				} finally {
					await page.close().catch(() => {});
				}
			}
		};
		await Promise.all(Array.from({length: options.concurrency}, worker));
	} finally {
		await context.close();
	}
}

async function main() {
	const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
	const browser = await puppeteer.launch({
		executablePath: input.chromium,
		args: input.args,
		headless: true
	});
	const options = {
		standard: input.standard || 'WCAG2AA',
		timeout: input.timeout || 30000,
		concurrency: input.concurrency || 1
	};
	const results = [];
	try {
		for (const group of input.groups) {
			await checkGroup(browser, group, options, results);
		}
	} finally {
		await browser.close();
	}
	process.stdout.write(JSON.stringify(results));
}

main().catch(error => {
	process.stderr.write(`pa11y-run: ${error.stack || error}\n`);
	process.exit(2);
});
