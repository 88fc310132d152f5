using BRun.Diagnostics.Core.Reports.Runs;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Reports;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>The shareable run report, built as the current user (scoped per request): another member's run has none.</summary>
public sealed class RunReportService(RunReportBuilder builder, ICurrentUser currentUser)
{
    /// <summary>The report, or null when the run does not exist or belongs to someone else (callers answer 404).</summary>
    /// <param name="runId">The run.</param>
    /// <param name="dashboardUrl">Where the report's links point (the address the request came to) unless configured.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public Task<RunReport?> BuildAsync(Guid runId, Uri dashboardUrl, CancellationToken cancellationToken) =>
        builder.BuildAsync(currentUser.Identity, runId, dashboardUrl, cancellationToken);
}
