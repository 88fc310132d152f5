using System.Security.Claims;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// <see cref="ICurrentUser"/> for one request or one circuit. The principal is set by <see cref="CurrentUserMiddleware"/>
/// for HTTP requests and by <see cref="CurrentUserCircuitHandler"/> for interactive circuits, where no HttpContext exists.
/// </summary>
public sealed class CurrentUser : ICurrentUser
{
    private ClaimsPrincipal? _principal;

    public ClaimsPrincipal? Principal => _principal;

    public bool IsAuthenticated => UserClaims.GetUserId(_principal) is not null;

    public Guid UserId => UserClaims.GetUserId(_principal) ?? throw new InvalidOperationException("No user is signed in.");

    public bool IsAdmin => IsAuthenticated && _principal!.IsInRole(AppUserRoles.Admin);

    public DbIdentity Identity => DbIdentity.User(UserId);

    public string DisplayName => _principal?.Identity?.Name ?? string.Empty;

    public void SetPrincipal(ClaimsPrincipal? principal) => _principal = principal;
}
