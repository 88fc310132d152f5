using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Web.Styling;
using BRun.Diagnostics.Web.Tests.Failures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>Pages paint with the cut of MudBlazor's stylesheet (FirstPaintStylesheet) and get the whole sheet once they work.</summary>
public sealed partial class DashboardBrowserTests
{
    // Records, in each document, when the page first says it is interactive, when the whole sheet is added, and the
    // classes on the page at that moment: what the first paint and the circuit's first render showed with the cut alone.
    private const string FirstPaintProbe = """
        (() => {
          const marks = window.__brunFirstPaint = { classes: [] };
          window.__brunClassesNow = () => [...new Set([...document.querySelectorAll('*')].flatMap(e => [...e.classList]))];
          new MutationObserver(() => {
            if (!('interactive' in marks) && document.querySelector("[data-interactive='true']")) { marks.interactive = performance.now(); }
            if (!('whole' in marks) && document.getElementById('brun-whole-stylesheet')) {
              marks.whole = performance.now();
              marks.classes = window.__brunClassesNow();
            }
          }).observe(document, { childList: true, subtree: true, attributes: true });
        })()
        """;

    private const string DomQuietFor300Ms = """
        () => new Promise(resolve => {
          let timer;
          const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, 300); });
          const done = () => { observer.disconnect(); resolve(true); };
          observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
          timer = setTimeout(done, 300);
        })
        """;

    private const string WholeSheetLoaded = "() => document.getElementById('brun-whole-stylesheet')?.sheet != null";

    private const string ClassesNow = "() => window.__brunClassesNow()";

    [GeneratedRegex(@"/runs$")]
    private static partial Regex RunsUrl();

    [Fact]
    public async Task Every_page_paints_with_the_rules_of_the_MudBlazor_classes_it_shows_and_then_gets_the_whole_sheet()
    {
        var admin = await Host.CreateUserAsync(AppUserRoles.Admin);
        var runId = await Host.Services.GetRequiredService<RunStore>()
            .CreateAsync(admin.Id, new CreateRunRequest(5, "default", "claude-sonnet-4-5", 1024, 0.7m), CancellationToken.None);
        await Store.StoreAsync(admin.Id, FailureSeed.Truncation(runId: runId));
        await Store.StoreAsync(admin.Id, FailureSeed.ApiError());

        var context = await _browser!.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = 1366, Height = 768 } });
        await context.AddInitScriptAsync(FirstPaintProbe);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(WaitMs);
        var listed = FirstPaintStylesheet.ReadClassList();
        IReadOnlySet<string>? mudClasses = null;
        var missing = new List<string>();

        async Task CheckAsync(string path)
        {
            await page.WaitForFunctionAsync(WholeSheetLoaded);
            mudClasses ??= CssClassFilter.ClassNames(await page.EvaluateAsync<string>(
                "() => fetch(document.querySelector('link[data-brun-first-paint]').dataset.brunFirstPaint).then(r => r.text())"));
            // What showed when the whole sheet was asked for, and what shows now that it is in (data read a moment later).
            var shown = (await page.EvaluateAsync<string[]>("() => window.__brunFirstPaint.classes"))
                .Concat(await page.EvaluateAsync<string[]>(ClassesNow));
            missing.AddRange(shown.Distinct().Where(c => mudClasses.Contains(c) && !listed.Contains(c)).Select(c => $"{path}: {c}"));
        }

        await page.GotoAsync("/account/login?returnUrl=%2Fruns");
        await CheckAsync("/account/login");
        await page.FillAsync("input[name=Email]", admin.Email);
        await page.FillAsync("input[name=Password]", BrowserHost.Password);
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page).ToHaveURLAsync(RunsUrl());
        await CheckAsync("/runs");
        foreach (var path in new[]
        {
            $"/runs/{runId}", "/runs/compare", "/conversations/failed", "/conversations/failed/insights", "/design", "/datasets",
            "/account", "/admin/users", "/admin/retention", "/no/such-page",
        })
        {
            await page.GotoAsync(path, new() { WaitUntil = WaitUntilState.Commit });
            await CheckAsync(path);
        }

        // A failure names the page and the class to add to Styling/FirstPaintClasses.txt.
        Assert.True(missing.Count == 0, "Missing from the first-paint class list: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task The_whole_sheet_is_added_after_the_first_interactive_render_between_the_cut_and_the_apps_own_sheet()
    {
        var user = await Host.CreateUserAsync();
        await Store.StoreAsync(user.Id, FailureSeed.Truncation());
        var context = await _browser!.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = 1366, Height = 768 } });
        await context.AddInitScriptAsync(FirstPaintProbe);
        var page = await SignInAsync(user, context: context);
        await page.WaitForFunctionAsync(WholeSheetLoaded);

        var marks = await page.EvaluateAsync<Dictionary<string, double>>("() => ({ interactive: window.__brunFirstPaint.interactive, whole: window.__brunFirstPaint.whole })");
        var sheets = await page.EvaluateAsync<string[]>(
            "() => [...document.styleSheets].map(s => s.ownerNode.id === 'brun-whole-stylesheet' ? 'whole' : s.ownerNode.dataset?.brunFirstPaint ? 'cut' : !s.href ? 'inline' : new URL(s.href).pathname.replace(/\\.[a-z0-9]+\\.css$/, '.css'))");
        // The failures page's rules hold with the whole sheet too: a row's cells keep MudBlazor's table padding.
        var cellPadding = await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('tr.brun-failure-row td')).paddingLeft");

        Assert.True(marks["interactive"] <= marks["whole"], $"interactive at {marks["interactive"]} ms, whole sheet added at {marks["whole"]} ms");
        Assert.Equal(["cut", "whole", "/app.css"], sheets.Where(s => s is "cut" or "whole" or "/app.css"));
        Assert.Equal("16px", cellPadding);
    }

    [Fact]
    public async Task Pages_painted_with_the_cut_alone_look_exactly_as_with_the_whole_sheet()
    {
        var user = await Host.CreateUserAsync();
        await Store.StoreAsync(user.Id, FailureSeed.Truncation());
        await Store.StoreAsync(user.Id, FailureSeed.ApiError());
        var cutOnly = await _browser!.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = 1366, Height = 768 } });
        // The whole sheet never arrives: what shows is the cut's doing alone.
        await cutOnly.RouteAsync(WholeMudBlazorSheet(), route => route.AbortAsync());
        var cutPage = await SignInAsync(user, context: cutOnly);
        var wholePage = await SignInAsync(user);
        var different = new List<string>();
        foreach (var path in new[] { "/conversations/failed", "/account", "/no/such-page" })
        {
            var shots = new List<byte[]>();
            foreach (var page in new[] { cutPage, wholePage })
            {
                await page.GotoAsync(path, new() { WaitUntil = WaitUntilState.Commit });
                await page.WaitForFunctionAsync("() => document.getElementById('brun-whole-stylesheet') !== null");
                if (page == wholePage)
                {
                    await page.WaitForFunctionAsync(WholeSheetLoaded);
                }

                await page.Mouse.MoveAsync(1300, 760);
                // The page settles after its first render (MudBlazor's breakpoint interop sets the drawer's classes,
                // whose margins move with a transition): compare what each context settles on, not a moment of it.
                await page.EvaluateAsync(DomQuietFor300Ms);
                shots.Add(await page.ScreenshotAsync(new() { FullPage = true, Animations = ScreenshotAnimations.Disabled }));
            }

            if (!shots[0].AsSpan().SequenceEqual(shots[1]))
            {
                var name = path.Trim('/').Replace('/', '-');
                await File.WriteAllBytesAsync(Path.Combine(ScreenshotDirectory(), $"first-paint-cut-only-{name}.png"), shots[0]);
                await File.WriteAllBytesAsync(Path.Combine(ScreenshotDirectory(), $"first-paint-whole-{name}.png"), shots[1]);
                different.Add(path);
            }
        }

        // A page that differs is saved both ways in TestResults/screenshots/first-paint-*.png.
        Assert.Empty(different);
    }

    [GeneratedRegex(@"/_content/MudBlazor/MudBlazor\.min\.[a-z0-9]+\.css$")]
    private static partial Regex WholeMudBlazorSheet();
}
