using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// A dashboard circuit outlives the request whose cookie opened it, so the cookie check alone would let a disabled
/// user's open tab go on working. This checks the circuit's user against <c>app_users</c> every minute (as the
/// framework's Identity template does); a disabled, deleted or re-roled user, or a session older than the user's last
/// password change, is signed out of the circuit.
/// </summary>
internal sealed class UserRevalidatingAuthenticationStateProvider(ILoggerFactory loggerFactory, AppUserStore users)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromMinutes(1);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(authenticationState);
        if (UserClaims.GetUserId(authenticationState.User) is not { } userId)
        {
            return false;
        }

        var user = await users.GetActiveAsync(userId, cancellationToken).ConfigureAwait(false);
        return user is not null && UserClaims.Matches(authenticationState.User, user);
    }
}
