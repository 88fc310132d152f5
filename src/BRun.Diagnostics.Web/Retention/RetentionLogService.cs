using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Retention;

/// <summary>
/// The retention log for the admin page and the API, read as the signed-in user, and the page's dry run. Retention is
/// an operator action, so a member is refused before any query; row-level security (admins only) would hide every row
/// from them anyway.
/// </summary>
public sealed class RetentionLogService(
    ICurrentUser currentUser, RetentionService retention, AppUserStore users, IOptions<RetentionOptions> options, RetentionRunner runner)
{
    /// <summary>Rows per page of the admin page (the API's default page size too).</summary>
    public const int PageSize = 50;

    public bool MaySee => currentUser.IsAuthenticated && currentUser.IsAdmin;

    /// <summary>The configured age (<c>Retention:OlderThanDays</c>; 0 keeps everything and no run is scheduled).</summary>
    public int ConfiguredDays => options.Value.OlderThanDays;

    /// <summary>One page of retention runs, newest first; null for a member.</summary>
    public async Task<Page<RetentionRun>?> PageAsync(PageRequest page, CancellationToken cancellationToken) =>
        MaySee ? await retention.PageAsync(currentUser.Identity, page, cancellationToken).ConfigureAwait(false) : null;

    /// <summary>
    /// Starts a real run for failures older than <paramref name="days"/> in the background (it is logged like any run,
    /// by <c>dashboard:&lt;user id&gt;</c>, and shows in the log as running). Only for a user the database still holds as
    /// an admin. Null when it started, or why it did not.
    /// </summary>
    public async Task<string?> StartRunAsync(int? days, CancellationToken cancellationToken)
    {
        if (await RefusalAsync(days, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        return runner.TryStart(new RetentionRequest(days!.Value, DryRun: false, TriggeredBy))
            ? null
            : "A run started from the dashboard is still going; it shows in the log as running.";
    }

    /// <summary>A run started from the dashboard (in this process) is still going.</summary>
    public bool DashboardRunGoing => runner.IsRunning;

    /// <summary>Stops the run started from the dashboard; null when asked, or why not.</summary>
    public async Task<string?> StopRunAsync(CancellationToken cancellationToken)
    {
        if (!await IsAdminAsync(cancellationToken).ConfigureAwait(false))
        {
            return NotAnAdmin;
        }

        return runner.Stop() ? null : "No run started from the dashboard is going.";
    }

    private string TriggeredBy => $"dashboard:{currentUser.UserId:D}";

    private const string NotAnAdmin = "Retention is for admins.";

    /// <summary>The signed-in user is an admin, as the database holds now (a role claim in an older cookie is not enough).</summary>
    private async Task<bool> IsAdminAsync(CancellationToken cancellationToken) =>
        MaySee && await users.GetActiveAsync(currentUser.UserId, cancellationToken).ConfigureAwait(false) is { Role: AppUserRoles.Admin };

    /// <summary>Why the signed-in user may not run retention for <paramref name="days"/>, or null.</summary>
    private async Task<string?> RefusalAsync(int? days, CancellationToken cancellationToken)
    {
        if (!await IsAdminAsync(cancellationToken).ConfigureAwait(false))
        {
            return NotAnAdmin;
        }

        return days is not { } age || age < 1 || age > RetentionOptions.MaxOlderThanDays
            ? $"Give an age of 1 to {RetentionOptions.MaxOlderThanDays:N0} days."
            : null;
    }

    /// <summary>
    /// A dry run for failures older than <paramref name="days"/>: counts what a real run would delete, deletes nothing,
    /// and is logged like any run. Only for a user the database still holds as an admin (the run reads every user's
    /// rows as the system). The run, or why there is none.
    /// </summary>
    public async Task<(RetentionRun? Run, string? Error)> DryRunAsync(int? days, CancellationToken cancellationToken)
    {
        if (await RefusalAsync(days, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            return (null, refused);
        }

        try
        {
            var run = await retention.RunAsync(new RetentionRequest(days!.Value, DryRun: true, TriggeredBy), cancellationToken).ConfigureAwait(false);
            return (run, null);
        }
        catch (RetentionFailedException ex)
        {
            // The run's row records the failure too; the page shows it in the log.
            return (ex.Run, "The dry run did not finish: the database or storage did not answer.");
        }
    }
}
