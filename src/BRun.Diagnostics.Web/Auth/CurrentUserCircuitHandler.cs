using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// Keeps <see cref="CurrentUser"/> in step with the circuit's authentication state: set when the circuit opens,
/// refreshed on each inbound activity and whenever the state changes (the documented pattern for reaching the
/// user from circuit-scoped services).
/// </summary>
internal sealed class CurrentUserCircuitHandler(AuthenticationStateProvider authenticationStateProvider, CurrentUser currentUser)
    : CircuitHandler, IDisposable
{
    public override async Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        authenticationStateProvider.AuthenticationStateChanged += OnAuthenticationStateChanged;
        currentUser.SetPrincipal((await authenticationStateProvider.GetAuthenticationStateAsync().ConfigureAwait(false)).User);
    }

    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
        async context =>
        {
            currentUser.SetPrincipal((await authenticationStateProvider.GetAuthenticationStateAsync().ConfigureAwait(false)).User);
            await next(context).ConfigureAwait(false);
        };

    public void Dispose() => authenticationStateProvider.AuthenticationStateChanged -= OnAuthenticationStateChanged;

    private async void OnAuthenticationStateChanged(Task<AuthenticationState> task)
    {
        // An event handler must be void; the task is already complete on Blazor Server.
        currentUser.SetPrincipal((await task.ConfigureAwait(false)).User);
    }
}
