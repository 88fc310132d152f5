using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using Npgsql;

// Usage: DashboardLoad <baseUrl> <email> <password> <apiToken> <postgresConnectionString> <ownerUserId>
// Prints one line per measurement: name, milliseconds (each measured 3 times after a warm-up unless stated).
if (args.Length != 6)
{
    Console.Error.WriteLine("usage: DashboardLoad <baseUrl> <email> <password> <apiToken> <postgres> <ownerUserId>");
    return 2;
}

var (baseUrl, email, password, token, postgres, owner) = (args[0].TrimEnd('/'), args[1], args[2], args[3], args[4], Guid.Parse(args[5]));
const int Repeats = 3;

// Full page loads vary most (the browser, the server and the database share two cores): more of them.
const int LoadRepeats = 7;

// Live arrivals are spaced like single failures of a run (a quiet period between them), enough for a p95.
const int LiveRepeats = 20;

using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new()
{
    // BRUN_CHROMIUM names another Chromium or Chrome build (as in the browser tests).
    ExecutablePath = Environment.GetEnvironmentVariable("BRUN_CHROMIUM") is { Length: > 0 } chromium ? chromium : "/usr/bin/chromium",
    Headless = true,
    Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
var context = await browser.NewContextAsync(new() { BaseURL = baseUrl, ViewportSize = new() { Width = 1366, Height = 768 }, AcceptDownloads = true });

// Times are taken in the page, not by waiting in Playwright: a locator wait re-checks at growing intervals (up to
// 500 ms apart), which added up to half a second to every figure before. A mutation observer notes the first DOM
// change where the condition holds, and the time of the next animation frame (when it is painted) is the figure.
await context.AddInitScriptAsync("""
    (() => {
      const marks = window.__brunMarks = {};
      const watch = { rows: 'tr.brun-failure-row', interactive: ".brun-failures-page[data-interactive='true']", chips: '.brun-filter-chip' };
      new MutationObserver(() => {
        for (const [name, selector] of Object.entries(watch)) {
          if (!(name in marks) && document.querySelector(selector)) {
            marks[name] = null;
            requestAnimationFrame(() => { marks[name] = performance.now(); });
          }
        }
      }).observe(document, { childList: true, subtree: true, attributes: true });
    })();
    """);
var page = await context.NewPageAsync();
page.SetDefaultTimeout(120_000);
await page.GotoAsync("/account/login?returnUrl=%2Fruns");
await page.FillAsync("input[name=Email]", email);
await page.FillAsync("input[name=Password]", password);
await page.ClickAsync("button[type=submit]");
await page.WaitForURLAsync("**/runs");

async Task OpenListAsync(string query = "")
{
    await page.GotoAsync("/conversations/failed" + query);
    await page.Locator("tr.brun-failure-row").First.WaitForAsync();
    await page.Locator(".brun-failures-page[data-interactive='true']").WaitForAsync();
}

async Task<string> TotalAsync() => await page.Locator(".brun-filter-total").EvaluateAsync<string>("e => e.textContent");

// Starts watching the page for a condition; the task ends with the epoch milliseconds of the first frame after it
// held, and of the triggering event (click or input) when one is named. Start it before the action it times.
Task<System.Text.Json.JsonElement> Watch(string kind, string argument, string? startOn = null) =>
    page.EvaluateAsync<System.Text.Json.JsonElement>(
        """
        ([kind, arg, startOn]) => new Promise((resolve, reject) => {
          const rowLabels = () => [...document.querySelectorAll('tr.brun-failure-row .brun-view')].map(b => b.getAttribute('aria-label')).join();
          const now = () => performance.timeOrigin + performance.now();
          const holds = {
            exists: () => document.querySelector(arg) !== null,
            everyType: () => {
              const cells = document.querySelectorAll('tr.brun-failure-row .brun-cell-type');
              return cells.length > 0 && [...cells].every(e => e.textContent.trim() === arg);
            },
            totalChanged: () => { const e = document.querySelector('.brun-filter-total'); return e !== null && e.textContent !== arg; },
            // The grid is not busy and shows other rows than before (arg: the rows' View labels then). Waiting for a
            // busy state to come and go missed reads quick enough that it was never drawn, and then waited forever.
            rowsChanged: () => {
              const g = document.querySelector('.brun-failures-grid');
              return g !== null && g.getAttribute('aria-busy') !== 'true' && rowLabels() !== arg;
            },
          }[kind];
          let start = null;
          // A condition that never holds fails the bench with its name rather than hanging it.
          setTimeout(() => reject(new Error(`no ${kind} within 20 s`)), 20000);
          if (startOn) {
            document.addEventListener(startOn, e => { if (start === null) { start = performance.timeOrigin + e.timeStamp; } }, { capture: true });
          }
          const observer = new MutationObserver(() => {
            if ((!startOn || start !== null) && holds()) {
              observer.disconnect();
              requestAnimationFrame(() => resolve({ start, end: now() }));
            }
          });
          observer.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
        })
        """,
        new object?[] { kind, argument, startOn });

static long Elapsed(System.Text.Json.JsonElement watched) =>
    (long)Math.Round(watched.GetProperty("end").GetDouble() - watched.GetProperty("start").GetDouble());

static long Median(List<long> values) => values.Order().ElementAt(values.Count / 2);

void Report(string name, IEnumerable<long> values)
{
    var list = values.ToList();
    // A median from five samples on; fewer are only listed.
    var median = list.Count >= 5 ? $" (median {Median(list).ToString(CultureInfo.InvariantCulture)})" : string.Empty;
    Console.WriteLine($"{name}: {string.Join(", ", list.Select(v => v.ToString(CultureInfo.InvariantCulture)))} ms{median}");
}

// Warm-up: JIT (tiered: a method is recompiled after 30 calls, so one load left the circuit's start on unoptimised
// code), pools, caches. A dashboard that has been up for a while is the steady state measured below.
var warmUps = int.TryParse(Environment.GetEnvironmentVariable("BRUN_BENCH_WARMUP"), out var w) ? w : 10;
for (var i = 0; i < warmUps; i++)
{
    await OpenListAsync();
}

if (Environment.GetEnvironmentVariable("BRUN_BENCH_ONLY") == "search")
{
    // For comparing text-search changes quickly.
    await MeasureSearchesAsync();
    return 0;
}

// A full load is left alone until it is done: Playwright's selector engine, injected into the page on first use, ran
// 25-55 ms of script on the page's main thread just as the circuit started, and that was being counted. The page's
// own observer notes the times; one plain evaluate reads them afterwards.
async Task<Dictionary<string, double>> FullLoadMarksAsync(IPage tab)
{
    await tab.GotoAsync("/conversations/failed", new() { WaitUntil = WaitUntilState.Commit });
    await Task.Delay(TimeSpan.FromSeconds(2));
    return await tab.EvaluateAsync<Dictionary<string, double>>(
        """
        () => new Promise(resolve => {
          const check = () => ['rows', 'interactive', 'chips'].every(m => typeof window.__brunMarks[m] === 'number')
            ? resolve(window.__brunMarks) : setTimeout(check, 100);
          check();
        })
        """);
}

// The same code has measured 230 ms and 420 ms an hour apart: the series says what the machine was doing meanwhile
// (the other work on its two cores, and time the hypervisor gave to other guests), and how long a fixed piece of work
// took, so slow hours can be told from slow code.
var machineBefore = MachineSample.Take();
var cpuBaseline = MachineSample.FixedWorkMilliseconds();

// Two ways in: a link opened in a new tab (nothing else happening), and a reload of an open dashboard page, where the
// browser and the server are also closing the page's previous circuit (its WebSocket and a disconnect request).
var load = new List<long>();
var loadRows = new List<long>();
var loadCounts = new List<long>();
var reload = new List<long>();
for (var i = 0; i < LoadRepeats; i++)
{
    var tab = await context.NewPageAsync();
    // performance.now() counts from the navigation's start.
    var marks = await FullLoadMarksAsync(tab);
    await tab.CloseAsync();
    load.Add((long)Math.Round(Math.Max(marks["rows"], marks["interactive"])));
    loadRows.Add((long)Math.Round(marks["rows"]));
    loadCounts.Add((long)Math.Round(marks["chips"]));
    await Task.Delay(TimeSpan.FromMilliseconds(500));
}

for (var i = 0; i < LoadRepeats; i++)
{
    var marks = await FullLoadMarksAsync(page);
    reload.Add((long)Math.Round(Math.Max(marks["rows"], marks["interactive"])));
}

Console.WriteLine(MachineSample.Describe(machineBefore, MachineSample.Take(), cpuBaseline));
Report("first page load in a new tab (navigation to rows shown and circuit interactive)", load);
Report("first page load by a reload (navigation to rows shown and circuit interactive)", reload);
Report("first page load (navigation to rows shown, prerendered)", loadRows);
Report("first page load (navigation to chip counts shown)", loadCounts);
if (Environment.GetEnvironmentVariable("BRUN_BENCH_AB") == "first-paint")
{
    // New tabs painting with the cut of MudBlazor's stylesheet (as served) against the same tabs given the whole sheet
    // in its place, interleaved so that both meet the same machine. Both are answered from memory by the route.
    var probe = await context.NewPageAsync();
    await probe.GotoAsync("/conversations/failed");
    var sheets = await probe.EvaluateAsync<string[]>(
        """
        async () => {
          const link = document.querySelector('link[data-brun-first-paint]');
          return [await (await fetch(link.href)).text(), await (await fetch(link.dataset.brunFirstPaint)).text()];
        }
        """);
    await probe.CloseAsync();
    var giveWhole = false;
    await context.RouteAsync("**/_styles/first-paint.*", route => route.FulfillAsync(new()
    {
        Body = giveWhole ? sheets[1] : sheets[0],
        ContentType = "text/css",
        Headers = new Dictionary<string, string> { ["Cache-Control"] = "public, max-age=31536000, immutable" },
    }));
    var cut = new List<long>();
    var whole = new List<long>();
    for (var i = 0; i < 4 * LoadRepeats; i++)
    {
        giveWhole = i % 2 == 1;
        var tab = await context.NewPageAsync();
        var marks = await FullLoadMarksAsync(tab);
        await tab.CloseAsync();
        (giveWhole ? whole : cut).Add((long)Math.Round(Math.Max(marks["rows"], marks["interactive"])));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
    }

    await context.UnrouteAllAsync();
    Report($"A/B new tab, first paint with the cut sheet ({sheets[0].Length:N0} chars)", cut);
    Report($"A/B new tab, first paint with the whole sheet ({sheets[1].Length:N0} chars)", whole);
    Console.WriteLine($"A/B medians: cut {Median(cut)} ms, whole {Median(whole)} ms");
}

if (Environment.GetEnvironmentVariable("BRUN_BENCH_ONLY") == "load")
{
    // For comparing page-load changes quickly.
    return 0;
}

// The usual way in: from another dashboard page through the menu, in the same circuit (no page load, no prerender).
var menu = new List<long>();
for (var i = 0; i < Repeats; i++)
{
    await page.GotoAsync("/runs");
    await page.WaitForFunctionAsync("() => window.Blazor !== undefined");
    await page.Locator(".brun-nav-failed").WaitForAsync();
    // Let the circuit start before clicking (a click during the start is queued, which would time the start too).
    await Task.Delay(TimeSpan.FromSeconds(1));
    var rowsShown = Watch("exists", "tr.brun-failure-row", "click");
    await page.ClickAsync(".brun-nav-failed");
    menu.Add(Elapsed(await rowsShown));
}

Report("menu navigation from the runs page (click to rows shown)", menu);

var filter = new List<long>();
var filterCounts = new List<long>();
foreach (var chip in new[] { "api_error", "parse_error", "api_error" })
{
    await OpenListAsync();
    await page.Locator(".brun-filter-chip").First.WaitForAsync();
    var before = await TotalAsync();
    var rowsShown = Watch("everyType", chip, "click");
    var countsShown = Watch("totalChanged", before, "click");
    await page.ClickAsync($".brun-filter-chip[data-dimension='failure_type'][data-value='{chip}']");
    filter.Add(Elapsed(await rowsShown));
    filterCounts.Add(Elapsed(await countsShown));
}

Report("filter change (chip click to filtered rows shown)", filter);
Report("filter change (chip click to new chip counts shown)", filterCounts);

async Task MeasureSearchesAsync()
{
    // Selective terms (a handful of matches: resolved to ids through the trigram indexes) and broad ones (hundreds of
    // thousands: the rows are searched, and the counts read every match).
    async Task<(List<long> Rows, List<long> Counts)> SearchAsync(IEnumerable<string> terms)
    {
        var rows = new List<long>();
        var counts = new List<long>();
        foreach (var term in terms)
        {
            await OpenListAsync();
            await page.Locator(".brun-filter-chip").First.WaitForAsync();
            var before = await TotalAsync();
            var rowsBefore = await page.EvaluateAsync<string>(
                "() => [...document.querySelectorAll('tr.brun-failure-row .brun-view')].map(b => b.getAttribute('aria-label')).join()");
            var rowsShown = Watch("rowsChanged", rowsBefore, "input");
            var countsShown = Watch("totalChanged", before, "input");
            await page.FillAsync(".brun-filter-search input", term);
            rows.Add(Elapsed(await rowsShown));
            counts.Add(Elapsed(await countsShown));
        }

        return (rows, counts);
    }

    // Three rounds of three terms each: one search's time varies by a third on this machine, and three said little.
    string[] Rounds(params string[] terms) => [.. Enumerable.Repeat(terms, 3).SelectMany(t => t)];
    var selective = await SearchAsync(Rounds("#123457", "#98765", "#4242"));
    var broad = await SearchAsync(Rounds("backslash", "overloaded", "inside a JSON"));
    Report("text search, selective (typing to rows shown, includes the 400 ms debounce)", selective.Rows);
    Report("text search, selective (typing to new chip counts, includes the 400 ms debounce)", selective.Counts);
    Report("text search, broad (typing to rows shown, includes the 400 ms debounce)", broad.Rows);
    Report("text search, broad (typing to new chip counts, includes the 400 ms debounce)", broad.Counts);
}

await MeasureSearchesAsync();

// The insights tab, a full load to its histogram drawn: the histogram read every row of failed_generations and of
// conversations under the filters (both prerender and circuit load it) until the token rollups (migration 0090).
async Task<List<long>> InsightsAsync(string query)
{
    var times = new List<long>();
    for (var i = 0; i < Repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        await page.GotoAsync("/conversations/failed/insights" + query);
        await page.Locator(".brun-chart-histogram svg").First.WaitForAsync(new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => window.Blazor !== undefined");
        times.Add(clock.ElapsedMilliseconds);
    }

    return times;
}

Report("insights tab load, no filter (navigation to the histogram drawn)", await InsightsAsync(string.Empty));
Report("insights tab load, model=claude-haiku-4-5 (navigation to the histogram drawn)", await InsightsAsync("?model=claude-haiku-4-5"));

var dialog = new List<long>();
await OpenListAsync();
for (var i = 0; i < Repeats; i++)
{
    var view = page.Locator("tr.brun-failure-row button.brun-view").Nth(i);
    await view.FocusAsync();
    var clock = Stopwatch.StartNew();
    await page.Keyboard.PressAsync("Enter");
    await page.Locator(".brun-report-conclusion").WaitForAsync();
    dialog.Add(clock.ElapsedMilliseconds);
    // Escape reaches the dialog once its focus has moved in (a person does not press it within milliseconds).
    await page.WaitForFunctionAsync("() => { const a = document.activeElement; return !!a && (a.closest('.brun-report-dialog') !== null || a.querySelector('.brun-report-dialog') !== null); }");
    await page.Keyboard.PressAsync("Escape");
    await page.Locator(".brun-report-dialog").WaitForAsync(new() { State = WaitForSelectorState.Detached });
}

Report("report dialog open (Enter to conclusion shown)", dialog);

var raw = new List<long>();
for (var i = 0; i < Repeats; i++)
{
    var clock = Stopwatch.StartNew();
    var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("tr.brun-failure-row a.brun-raw").Nth(i).ClickAsync());
    await download.PathAsync();
    raw.Add(clock.ElapsedMilliseconds);
}

Report("RAW download in the browser (click to file saved)", raw);

var live = new List<long>();
await OpenListAsync();
await using (var dataSource = NpgsqlDataSource.Create(postgres))
{
    // One more than measured: the first arrival warms the live path (JIT), as the other figures have a warm-up.
    for (var i = -1; i < LiveRepeats; i++)
    {
        var id = Guid.CreateVersion7();
        var shown = Watch("exists", $"button[aria-label='View failure {id}']");
        // The same clock as the page's (one machine): from just before the INSERT to the frame that shows the row.
        var stored = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var command = new NpgsqlCommand(
            """
            INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, response_content, stop_reason,
                input_tokens, output_tokens, http_status, streamed, failure_type, truncation_pattern, truncation_details, detection_confidence, created_by)
            VALUES ($1, 'live', 4, 'claude-sonnet-4-5', 24576, '{}', '{}', 'I want to save for \', 'end_turn', 2150, 1003, 200, false,
                'truncation', 'lone_backslash', 'live arrival', 'high', $2);
            """, connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = owner });
            await command.ExecuteNonQueryAsync();
            // Announced as the worker does: after the row is committed, a task_failed NOTIFY with its id.
            await using var notify = new NpgsqlCommand("SELECT pg_notify('brun_events', $1)", connection);
            notify.Parameters.Add(new NpgsqlParameter { Value = $$"""{"kind":"task_failed","run_id":"{{Guid.NewGuid()}}","failure_id":"{{id}}"}""" });
            await notify.ExecuteNonQueryAsync();
        }

        var elapsed = (long)Math.Round((await shown).GetProperty("end").GetDouble() - stored);
        if (i >= 0)
        {
            live.Add(elapsed);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(300));
    }
}

Report("live: failure stored to row shown in the open page", live);
var sorted = live.Order().ToList();
Console.WriteLine($"live: p50 {sorted[(sorted.Count - 1) / 2]} ms, p95 {sorted[(int)Math.Ceiling(sorted.Count * 0.95) - 1]} ms, max {sorted[^1]} ms of {sorted.Count}");

using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromMinutes(30) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
foreach (var (name, url) in new[]
{
    ("API list page 1 (limit 50, with total)", "/api/failed-generations?limit=50"),
    ("API list filtered (failure_type=api_error&model=claude-haiku-4-5)", "/api/failed-generations?failure_type=api_error&model=claude-haiku-4-5"),
    ("API list deep page (page=10000, limit=50: offset 499,950)", "/api/failed-generations?page=10000&limit=50"),
    // A page in the far half is read from the other end (ReadPageAsync): the middle is now the deepest read.
    ("API list middle page (page=9000, limit=50: offset 449,950)", "/api/failed-generations?page=9000&limit=50"),
    ("API list last page (page=18000, limit=50: offset 899,950)", "/api/failed-generations?page=18000&limit=50"),
})
{
    var times = new List<long>();
    for (var i = 0; i < Repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        using var response = await http.GetAsync(new Uri(url, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
        times.Add(clock.ElapsedMilliseconds);
    }

    Report(name, times);
}

// The same depth by keyset: the cursor after row 499,950 (next_cursor of page 9,999), then the page after it.
{
    using var deep = await http.GetAsync(new Uri("/api/failed-generations?page=9999&limit=50", UriKind.Relative));
    deep.EnsureSuccessStatusCode();
    using var deepJson = System.Text.Json.JsonDocument.Parse(await deep.Content.ReadAsStringAsync());
    var cursor = deepJson.RootElement.GetProperty("next_cursor").GetString()!;
    var times = new List<long>();
    for (var i = 0; i < Repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        using var response = await http.GetAsync(new Uri("/api/failed-generations?limit=50&after=" + Uri.EscapeDataString(cursor), UriKind.Relative));
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
        times.Add(clock.ElapsedMilliseconds);
    }

    Report("API list deep page by keyset (after=<cursor of row 499,950>, limit=50)", times);
}

{
    var clock = Stopwatch.StartNew();
    using var response = await http.GetAsync(new Uri("/api/failed-generations/export?format=csv", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
    var firstByte = clock.ElapsedMilliseconds;
    await using var body = await response.Content.ReadAsStreamAsync();
    var buffer = new byte[81920];
    long bytes = 0;
    int read;
    while ((read = await body.ReadAsync(buffer)) > 0)
    {
        bytes += read;
    }

    Console.WriteLine($"CSV export of every row: first byte {firstByte} ms, complete {clock.ElapsedMilliseconds} ms, {bytes / (1024 * 1024)} MiB");
}

return 0;

/// <summary>What the machine did during a series: /proc/stat's CPU time (busy, steal) and the load average.</summary>
internal sealed record MachineSample(long[] Cpu, string LoadAverage)
{
    public static MachineSample? Take()
    {
        if (!File.Exists("/proc/stat"))
        {
            return null;
        }

        // "cpu  user nice system idle iowait irq softirq steal ..." in clock ticks, all cores together.
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        return new MachineSample(fields, File.ReadAllText("/proc/loadavg").Split(' ')[0]);
    }

    /// <summary>Milliseconds for a fixed amount of hashing on one core (the median of five): the machine's speed now.</summary>
    public static long FixedWorkMilliseconds()
    {
        var data = new byte[64 * 1024 * 1024];
        var times = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            System.Security.Cryptography.SHA256.HashData(data);
            System.Security.Cryptography.SHA256.HashData(data);
            times.Add(clock.ElapsedMilliseconds);
        }

        return times.Order().ElementAt(2);
    }

    public static string Describe(MachineSample? before, MachineSample? after, long fixedWork)
    {
        var work = $"a fixed 128 MiB of SHA-256 {fixedWork} ms";
        if (before is null || after is null)
        {
            return $"machine: {work}";
        }

        var delta = after.Cpu.Zip(before.Cpu, (a, b) => a - b).ToArray();
        var total = Math.Max(1, delta.Sum());
        var idle = delta[3] + delta[4];
        var steal = delta.Length > 7 ? delta[7] : 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"machine during the full loads: CPU busy {100.0 * (total - idle - steal) / total:F0} %, stolen by the hypervisor {100.0 * steal / total:F1} %, load average {before.LoadAverage} → {after.LoadAverage}; {work}");
    }
}
