using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Web.Tests.Failures;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

public sealed partial class DashboardBrowserTests
{
    /// <summary>
    /// At 1366 px, an admin's grid (the widest: an owner column too) with the longest values a row shows keeps each
    /// no-wrap cell on one line, fits the page without a sideways scroll, and names a pattern's details in its tooltip.
    /// </summary>
    [Fact]
    public async Task At_1366_px_the_widest_grid_keeps_its_no_wrap_cells_on_one_line_and_fits_the_page()
    {
        var admin = await Host.CreateUserAsync(AppUserRoles.Admin);
        var wide = FailureSeed.Truncation(outputTokens: 123_456) with
        {
            Model = "claude-sonnet-4-5-20250929",
            MaxTokens = 128_000,
            TruncationDetails = "Content ends with a lone backslash inside a JSON string, 1,000 tokens into the third assistant turn",
        };
        await Store.StoreAsync(admin.Id, wide);
        await Store.StoreAsync(admin.Id, FailureSeed.ApiError());

        var page = await SignInAsync(admin);
        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(2);

        // Lines a cell's text takes: its text boxes' tops, those within 8 px of each other counted as one line (the
        // View and RAW buttons' labels sit a pixel or two apart; the tokens cell's bar below its text is not text).
        var lines = await page.EvaluateAsync<Dictionary<string, int>>(
            """
            () => {
              const out = {};
              for (const cell of document.querySelectorAll('tr.brun-failure-row td.brun-nowrap')) {
                const tops = [];
                const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                  if (!node.textContent.trim()) continue;
                  const range = document.createRange();
                  range.selectNodeContents(node);
                  for (const rect of range.getClientRects()) if (rect.width > 0) tops.push(rect.top);
                }
                tops.sort((a, b) => a - b);
                const count = tops.filter((top, i) => i === 0 || top - tops[i - 1] > 8).length;
                const key = cell.dataset.label;
                out[key] = Math.max(out[key] ?? 0, count);
              }
              return out;
            }
            """);
        Assert.Equal(["Actions", "Date", "Model", "Owner", "Tokens (output / max)"], lines.Keys.Order(StringComparer.Ordinal));
        Assert.All(lines, cell => Assert.True(cell.Value == 1, $"{cell.Key} takes {cell.Value} lines"));

        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the page scrolls sideways by {overflow} px");

        await Assertions.Expect(page.Locator("tr.brun-failure-row td[data-label='Pattern'][title]"))
            .ToHaveAttributeAsync("title", wide.TruncationDetails!);
        // The long values were on screen when the lines were counted.
        await Assertions.Expect(page.Locator("tr.brun-failure-row td[data-label='Model']")).ToHaveTextAsync(["claude-haiku-4-5", "claude-sonnet-4-5-20250929"]);
        await Assertions.Expect(page.Locator("tr.brun-failure-row td[data-label='Tokens (output / max)']").Last).ToContainTextAsync("123,456 / 128,000");
    }
}
