using BRun.Diagnostics.Infrastructure.Database;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>
/// The signed-in user of the current request or dashboard circuit (scoped). Services pass <see cref="Identity"/>
/// to <see cref="IUserScopedConnectionFactory"/>, so row-level security decides what the user may see.
/// </summary>
public interface ICurrentUser
{
    /// <summary>True when a user is signed in; the other members throw otherwise.</summary>
    bool IsAuthenticated { get; }

    Guid UserId { get; }

    /// <summary>From the role claim; for display only. The database decides admin rights from <c>app_users.role</c>.</summary>
    bool IsAdmin { get; }

    /// <summary>The database identity of this user.</summary>
    DbIdentity Identity { get; }
}
