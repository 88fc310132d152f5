using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>Resolves <c>--user EMAIL</c> for the commands that act as a user (row-level security applies to them).</summary>
internal static class CliUsers
{
    public static async Task<AppUser?> FindAsync(IHost host, string email, TextWriter error, string command, CancellationToken ct)
    {
        // An empty or malformed --user is a usage error (exit 2, one line), never a store exception.
        email = UserCommand.RequireEmail("--user", email);
        var user = await host.Services.GetRequiredService<AppUserStore>().GetByEmailAsync(email, ct).ConfigureAwait(false);
        if (user is null)
        {
            await error.WriteLineAsync($"brun {command}: no user {email} (--user); create one with: brun user create --email {email} --password ...").ConfigureAwait(false);
        }

        return user;
    }
}
