using System.Diagnostics;
using System.Text;
using BRun.Diagnostics.Cli.Commands;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests;

/// <summary>
/// <c>brun user create</c> typed at a real terminal: the program runs under <c>script</c> (util-linux), which gives it a
/// pseudo-terminal, and the test types into it as a person would, answering each prompt once it shows.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class UserCommandTerminalTests(IntegrationEnvironment env)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task At_a_terminal_user_create_asks_for_the_password_twice_without_echoing_it()
    {
        await using var db = await env.CreateDatabaseAsync();
        const string Password = "typed-at-the-terminal";

        await using var terminal = Terminal.Start(db.ConnectionString, "user", "create", "--email", "Tess@Example.test");
        await terminal.WaitForAsync("Password for tess@example.test: ");
        await terminal.TypeLineAsync(Password);
        await terminal.WaitForAsync("The same password again: ");
        await terminal.TypeLineAsync(Password);
        var exitCode = await terminal.ExitAsync();

        Assert.True(exitCode == 0, terminal.Screen);
        Assert.Contains("created member tess@example.test", terminal.Screen, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, terminal.Screen, StringComparison.Ordinal);
        var user = await new LocalAccountService(db.Get<Infrastructure.Database.IUserScopedConnectionFactory>())
            .VerifyPasswordAsync("tess@example.test", Password, CancellationToken.None);
        Assert.NotNull(user);
    }

    [Fact]
    public async Task At_a_terminal_two_different_passwords_change_nothing_and_exit_2()
    {
        await using var db = await env.CreateDatabaseAsync();

        await using var terminal = Terminal.Start(db.ConnectionString, "user", "create", "--email", "tess@example.test");
        await terminal.WaitForAsync("Password for tess@example.test: ");
        await terminal.TypeLineAsync("first-password-1");
        await terminal.WaitForAsync("The same password again: ");
        await terminal.TypeLineAsync("second-password-2");
        var exitCode = await terminal.ExitAsync();

        Assert.True(exitCode == 2, terminal.Screen);
        Assert.Contains("brun user create: the two passwords differ; nothing was changed.", terminal.Screen, StringComparison.Ordinal);
        Assert.Null(await db.Get<AppUserStore>().GetByEmailAsync("tess@example.test", CancellationToken.None));
    }

    /// <summary>The real brun.dll on a pseudo-terminal; <see cref="Screen"/> is what the terminal showed.</summary>
    private sealed class Terminal : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _screen = new();
        private readonly Task _reading;

        private Terminal(Process process)
        {
            _process = process;
            _reading = Task.Run(async () =>
            {
                var buffer = new char[256];
                int read;
                while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
                {
                    lock (_screen)
                    {
                        _screen.Append(buffer, 0, read);
                    }
                }
            });
        }

        public string Screen
        {
            get
            {
                lock (_screen)
                {
                    return _screen.ToString();
                }
            }
        }

        public static Terminal Start(string connectionString, params string[] arguments)
        {
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            var command = string.Join(' ', new[] { dotnet, Path.Combine(AppContext.BaseDirectory, "brun.dll") }.Concat(arguments).Select(Quote));
            var info = new ProcessStartInfo("script", ["--quiet", "--return", "--command", command, "/dev/null"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            info.Environment["ConnectionStrings__Postgres"] = connectionString;
            info.Environment.Remove(UserCommand.PasswordVariable);
            return new Terminal(Process.Start(info) ?? throw new InvalidOperationException("script did not start"));
        }

        public async Task WaitForAsync(string text)
        {
            using var deadline = new CancellationTokenSource(Patience);
            while (!Screen.Contains(text, StringComparison.Ordinal))
            {
                Assert.False(_process.HasExited, $"brun exited before showing '{text}':\n{Screen}");
                await Task.Delay(50, deadline.Token);
            }
        }

        /// <summary>Types the text and Enter (a carriage return, as a terminal's Enter key sends).</summary>
        public async Task TypeLineAsync(string text)
        {
            await _process.StandardInput.WriteAsync(text + "\r");
            await _process.StandardInput.FlushAsync();
        }

        public async Task<int> ExitAsync()
        {
            using var deadline = new CancellationTokenSource(Patience);
            await _process.WaitForExitAsync(deadline.Token);
            await _reading;
            return _process.ExitCode;
        }

        public ValueTask DisposeAsync() => Pipeline.BrunProcess.EndAsync(_process);

        private static string Quote(string argument) => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
