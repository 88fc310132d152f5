using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Components;
using BRun.Diagnostics.Web.Failures;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Web.Tests.Layout;

public sealed class PrerenderStateBudgetTests
{
    private static FailuresFirstView View(int rows) => new(
        string.Empty, 0, rows,
        [.. Enumerable.Range(0, rows).Select(i => FailureRowView.From(new FailedGenerationSummary
        {
            Id = Guid.NewGuid(), FailureType = "truncation", TruncationPattern = "mid_word", Model = "claude-sonnet-4-5", MaxTokens = 4096,
            TruncationDetails = new string('d', 5000), ErrorMessage = new string('e', 5000), RunId = Guid.NewGuid(), OutputTokens = 1000 + i,
        }))],
        FailureFacets.Empty);

    [Fact]
    public void A_first_page_of_rows_with_long_texts_is_persisted()
    {
        // A full load reads 25 rows (page size is not in the URL); twice that still fits.
        var logger = new Recording();
        var view = View(50);

        Assert.Same(view, new PrerenderStateBudget(logger).Admit(view, "failures"));
        Assert.Empty(logger.Lines);
    }

    [Fact]
    public void A_view_over_the_budget_is_not_persisted_and_the_log_says_so()
    {
        var logger = new Recording();

        Assert.Null(new PrerenderStateBudget(logger).Admit(View(2000), "failures"));
        var line = Assert.Single(logger.Lines);
        Assert.Contains("failures page's prerendered view", line, StringComparison.Ordinal);
    }

    private sealed class Recording : ILogger<PrerenderStateBudget>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
