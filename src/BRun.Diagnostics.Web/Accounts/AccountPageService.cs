using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Web.Auth;

namespace BRun.Diagnostics.Web.Accounts;

/// <summary>
/// The /account page's work for the signed-in user: their API tokens (list, create, revoke; row-level security keeps
/// them to their own) and a change of their own password. Answers are messages the page shows as they are.
/// </summary>
public sealed class AccountPageService(ICurrentUser currentUser, ApiTokenStore tokens, LocalAccountService accounts, SessionRenewal renewal)
{
    /// <summary>Longest token label accepted.</summary>
    public const int MaxTokenNameLength = 100;

    public Task<IReadOnlyList<ApiTokenInfo>> ListTokensAsync(CancellationToken cancellationToken) =>
        tokens.ListAsync(currentUser.Identity, cancellationToken);

    /// <summary>A new token of the signed-in user (its secret is in the result, once), or an error message.</summary>
    public async Task<(CreatedApiToken? Token, string? Error)> CreateTokenAsync(string? name, CancellationToken cancellationToken)
    {
        var label = name?.Trim() ?? string.Empty;
        if (label.Length == 0 || label.Length > MaxTokenNameLength || label.Any(char.IsControl))
        {
            return (null, $"Give the token a name of 1 to {MaxTokenNameLength} characters.");
        }

        return (await tokens.CreateAsync(currentUser.UserId, label, cancellationToken).ConfigureAwait(false), null);
    }

    /// <summary>Revokes one of the signed-in user's tokens; false when it is not theirs or already revoked.</summary>
    public Task<bool> RevokeTokenAsync(Guid tokenId, CancellationToken cancellationToken) =>
        tokens.RevokeAsync(currentUser.Identity, tokenId, cancellationToken);

    /// <summary>
    /// Changes the signed-in user's password, which signs out their other sessions, and with
    /// <paramref name="revokeApiTokens"/> revokes their API tokens too. Done: no error, and the URL that keeps this
    /// session signed in (the browser must load it, see <see cref="SessionRenewal"/>). Else what is wrong.
    /// </summary>
    public async Task<(string? Error, string? SessionRenewalUrl)> ChangePasswordAsync(
        string? current, string? next, string? confirm, bool revokeApiTokens, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(current) || string.IsNullOrEmpty(next))
        {
            return ("Enter your current password and a new one.", null);
        }

        if (next != confirm)
        {
            return ("The new password and its confirmation differ.", null);
        }

        var userId = currentUser.UserId;
        var (result, stamp, _) = await accounts.ChangePasswordReturningStampAsync(userId, current, next, revokeApiTokens, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            PasswordChangeResult.Changed => (null, renewal.CreateUrl(userId, stamp!.Value)),
            PasswordChangeResult.TooShort => ($"The new password needs at least {LocalAccountService.MinPasswordLength} characters.", null),
            _ => ("The current password is not right (an account that signs in through single sign-on has none to change).", null),
        };
    }
}
