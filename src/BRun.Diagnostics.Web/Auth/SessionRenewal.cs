using System.Globalization;
using System.Security.Cryptography;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// Keeps the session that changed its password signed in. The change happens in a dashboard circuit, which cannot set
/// a cookie, and draws a new session stamp that makes every existing cookie stale, this session's too. So the page
/// sends the browser to <see cref="Path"/> with a ticket: the user id and the new stamp, encrypted and valid for
/// <see cref="Lifetime"/>. The endpoint issues a cookie with the new stamp only when the ticket is intact, not expired,
/// its stamp is still the user's, and the browser presents that user's (now stale) cookie: the ticket alone, seen in a
/// log within its lifetime, does not sign anyone in.
/// </summary>
public sealed class SessionRenewal(IDataProtectionProvider dataProtection, TimeProvider time)
{
    public const string Path = "/account/session/renew";

    public const string TicketKey = "ticket";

    /// <summary>Where the browser goes once its cookie is renewed: the account page, saying the password changed.</summary>
    public const string DoneUrl = "/account?password=changed";

    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    private readonly IDataProtector _protector = dataProtection.CreateProtector("BRun.Diagnostics.Web.Auth.SessionRenewal.v1");

    /// <summary>The URL that renews the cookie of <paramref name="userId"/>'s session after a change to <paramref name="stamp"/>.</summary>
    public string CreateUrl(Guid userId, Guid stamp)
    {
        var expires = (time.GetUtcNow() + Lifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var ticket = _protector.Protect($"{userId:D}|{stamp:D}|{expires}");
        return $"{Path}?{TicketKey}={Uri.EscapeDataString(ticket)}";
    }

    /// <summary>The user id and stamp of an intact, unexpired ticket; null otherwise.</summary>
    public (Guid UserId, Guid Stamp)? Read(string? ticket)
    {
        if (string.IsNullOrEmpty(ticket))
        {
            return null;
        }

        string payload;
        try
        {
            payload = _protector.Unprotect(ticket);
        }
        catch (CryptographicException)
        {
            return null;
        }

        var parts = payload.Split('|');
        return parts.Length == 3
            && Guid.TryParseExact(parts[0], "D", out var userId)
            && Guid.TryParseExact(parts[1], "D", out var stamp)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            && time.GetUtcNow().ToUnixTimeSeconds() <= expires
                ? (userId, stamp)
                : null;
    }

    /// <summary>The renewal endpoint: a new cookie and the account page, or the sign-in page when anything does not hold.</summary>
    internal async Task<IResult> RenewAsync(HttpContext context, AppUserStore users, IOptionsMonitor<CookieAuthenticationOptions> cookieOptions)
    {
        if (Read(context.Request.Query[TicketKey].ToString()) is not var (userId, stamp)
            || StaleCookie(context, cookieOptions.Get(CookieAuthenticationDefaults.AuthenticationScheme)) is not { } stale
            || UserClaims.GetUserId(stale.Principal) != userId
            || await users.GetActiveAsync(userId, context.RequestAborted).ConfigureAwait(false) is not { } user
            || user.SessionStamp != stamp)
        {
            return Results.Redirect(AuthenticationSetup.LoginPath);
        }

        await context.SignInAsync(
            CookieAuthenticationDefaults.AuthenticationScheme,
            UserClaims.CreatePrincipal(user, CookieAuthenticationDefaults.AuthenticationScheme),
            new AuthenticationProperties { IsPersistent = stale.Properties.IsPersistent }).ConfigureAwait(false);
        return Results.LocalRedirect(DoneUrl);
    }

    /// <summary>The request's own sign-in cookie, decrypted but not validated (its stamp is stale), when it has not expired.</summary>
    private AuthenticationTicket? StaleCookie(HttpContext context, CookieAuthenticationOptions options)
    {
        var raw = options.CookieManager.GetRequestCookie(context, options.Cookie.Name!);
        var ticket = string.IsNullOrEmpty(raw) ? null : options.TicketDataFormat.Unprotect(raw, null);
        return ticket?.Properties.ExpiresUtc is { } expires && expires > time.GetUtcNow() ? ticket : null;
    }
}
