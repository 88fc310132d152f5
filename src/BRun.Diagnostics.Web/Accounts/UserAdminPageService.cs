using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;

namespace BRun.Diagnostics.Web.Accounts;

/// <summary>
/// The /admin/users page's work: list, create, change roles, disable and enable, as the signed-in admin. Whether they
/// may is decided by <see cref="UserAdministration"/> against the database, never from the cookie's role claim.
/// </summary>
public sealed class UserAdminPageService(ICurrentUser currentUser, UserAdministration users)
{
    /// <summary>Every user, or null when the signed-in user is not an enabled admin.</summary>
    public Task<IReadOnlyList<UserAccount>?> ListAsync(CancellationToken cancellationToken) =>
        users.ListAsync(currentUser.UserId, cancellationToken);

    public Guid SignedInUserId => currentUser.UserId;

    /// <summary>Null when created, else what is wrong.</summary>
    public async Task<string?> CreateAsync(string? email, string? displayName, string? password, bool admin, CancellationToken cancellationToken)
    {
        var name = string.IsNullOrWhiteSpace(displayName) ? email?.Trim() ?? string.Empty : displayName.Trim();
        var outcome = await users.CreateAsync(
            currentUser.UserId, email ?? string.Empty, name, password ?? string.Empty, admin ? AppUserRoles.Admin : AppUserRoles.Member, cancellationToken).ConfigureAwait(false);
        return outcome == UserChangeOutcome.Invalid
            ? $"Enter an email (name@domain), a name of at most 200 characters, and a password of at least {LocalAccountService.MinPasswordLength} characters."
            : Describe(outcome);
    }

    public async Task<string?> SetRoleAsync(Guid userId, bool admin, CancellationToken cancellationToken) =>
        Describe(await users.SetRoleAsync(currentUser.UserId, userId, admin ? AppUserRoles.Admin : AppUserRoles.Member, cancellationToken).ConfigureAwait(false));

    public async Task<string?> SetDisabledAsync(Guid userId, bool disabled, CancellationToken cancellationToken) =>
        Describe(await users.SetDisabledAsync(currentUser.UserId, userId, disabled, cancellationToken).ConfigureAwait(false));

    private static string? Describe(UserChangeOutcome outcome) => outcome switch
    {
        UserChangeOutcome.Done => null,
        UserChangeOutcome.LastAdmin => "That would leave no enabled admin: make someone else an admin first.",
        UserChangeOutcome.NotAdmin => "Only an enabled admin may change users.",
        UserChangeOutcome.EmailTaken => "A user with that email already exists.",
        UserChangeOutcome.NotFound => "That user no longer exists.",
        _ => "That change is not accepted.",
    };
}
