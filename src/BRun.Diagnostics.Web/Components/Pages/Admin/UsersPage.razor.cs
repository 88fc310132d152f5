using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Web.Accounts;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.Admin;

/// <summary>Admins: every user, with create, role change, disable and enable. The service and the database decide what is allowed.</summary>
public sealed partial class UsersPage : ComponentBase
{
    private IReadOnlyList<UserAccount>? _users = [];
    private string? _email;
    private string? _name;
    private string? _password;
    private bool _admin;
    private string? _message;
    private bool _succeeded;

    [Inject]
    private UserAdminPageService Users { get; set; } = default!;

    protected override async Task OnInitializedAsync() => _users = await Users.ListAsync(CancellationToken.None);

    private async Task CreateAsync()
    {
        var email = _email;
        await ShowAsync(await Users.CreateAsync(_email, _name, _password, _admin, CancellationToken.None), $"Created {email?.Trim().ToLowerInvariant()}.");
        if (_succeeded)
        {
            (_email, _name, _admin) = (null, null, false);
        }

        _password = null;
    }

    private async Task SetRoleAsync(UserAccount user, bool admin) =>
        await ShowAsync(await Users.SetRoleAsync(user.Id, admin, CancellationToken.None), $"{user.Email} is now {(admin ? "an admin" : "a member")}.");

    private async Task SetDisabledAsync(UserAccount user, bool disabled) =>
        await ShowAsync(await Users.SetDisabledAsync(user.Id, disabled, CancellationToken.None), $"{user.Email} is {(disabled ? "disabled: they can no longer sign in, and their tokens stop working" : "enabled again")}.");

    private async Task ShowAsync(string? error, string success)
    {
        _succeeded = error is null;
        _message = error ?? success;
        _users = await Users.ListAsync(CancellationToken.None);
    }
}
