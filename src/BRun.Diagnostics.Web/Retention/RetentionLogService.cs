using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Retention;

namespace BRun.Diagnostics.Web.Retention;

/// <summary>
/// The retention log for the admin page and the API, read as the signed-in user. Retention is an operator action, so
/// a member is refused before any query; row-level security (admins only) would hide every row from them anyway.
/// </summary>
public sealed class RetentionLogService(ICurrentUser currentUser, RetentionService retention)
{
    /// <summary>Rows the admin page shows: the latest runs (the API pages through the rest).</summary>
    public const int PageSize = 50;

    public bool MaySee => currentUser.IsAuthenticated && currentUser.IsAdmin;

    /// <summary>One page of retention runs, newest first; null for a member.</summary>
    public async Task<Page<RetentionRun>?> PageAsync(PageRequest page, CancellationToken cancellationToken) =>
        MaySee ? await retention.PageAsync(currentUser.Identity, page, cancellationToken).ConfigureAwait(false) : null;
}
