using System.Security.Claims;
using BRun.Diagnostics.Infrastructure.Users;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>The claims a signed-in dashboard user carries, whichever way they signed in.</summary>
public static class UserClaims
{
    /// <summary>The claim holding <see cref="AppUser.SessionStamp"/> as issued: a password change makes it stale.</summary>
    public const string SessionStampClaim = "brun:session_stamp";

    public static ClaimsPrincipal CreatePrincipal(AppUser user, string authenticationType)
    {
        ArgumentNullException.ThrowIfNull(user);
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, user.Id.ToString("D")),
                new Claim(ClaimTypes.Email, user.Email),
                new Claim(ClaimTypes.Name, user.DisplayName),
                new Claim(ClaimTypes.Role, user.Role),
                new Claim(SessionStampClaim, user.SessionStamp.ToString("D")),
            ],
            authenticationType,
            ClaimTypes.Name,
            ClaimTypes.Role);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>
    /// True when <paramref name="principal"/> was issued with <paramref name="user"/>'s current session stamp: false
    /// once the password changed since (or for a cookie from before stamps, which has none).
    /// </summary>
    public static bool HasCurrentSessionStamp(ClaimsPrincipal principal, AppUser user)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(user);
        return Guid.TryParseExact(principal.FindFirstValue(SessionStampClaim), "D", out var stamp) && stamp == user.SessionStamp;
    }

    /// <summary>True when <paramref name="principal"/> carries <paramref name="user"/>'s current email, name, role and session stamp.</summary>
    public static bool Matches(ClaimsPrincipal principal, AppUser user)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(user);
        return HasCurrentSessionStamp(principal, user)
            && principal.FindFirstValue(ClaimTypes.Email) == user.Email
            && principal.FindFirstValue(ClaimTypes.Name) == user.DisplayName
            && principal.FindFirstValue(ClaimTypes.Role) == user.Role;
    }

    /// <summary>The app_users id of an authenticated principal, or null.</summary>
    public static Guid? GetUserId(ClaimsPrincipal? principal) =>
        principal?.Identity?.IsAuthenticated == true
        && Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id)
        && id != Guid.Empty
            ? id
            : null;
}
