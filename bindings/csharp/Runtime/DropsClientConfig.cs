// What a client is made from. Secrets stay out of ToString.
using System;

namespace TwitchDrops
{
    /// <summary>A client's id, credentials and endpoints. Give <see cref="ClientSecret"/> (an
    /// app token is fetched and renewed for you) or <see cref="AccessToken"/>.</summary>
    public sealed class DropsClientConfig
    {
        /// <summary>A configuration for the application <paramref name="clientId"/>.</summary>
        public DropsClientConfig(string clientId)
        {
            ClientId = clientId;
        }

        /// <summary>The application's client id.</summary>
        public string ClientId { get; private set; }

        /// <summary>The application's client secret (a credential: never logged).</summary>
        public string ClientSecret { get; set; }

        /// <summary>A token to use as is instead of a secret (a credential: never logged).</summary>
        public string AccessToken { get; set; }

        /// <summary>A player's (or studio account's) user access token, e.g. stored from
        /// <see cref="DropsClient.FinishDeviceFlow"/>: needed for analytics, and lists that
        /// user's entitlements only. With <see cref="UserRefreshToken"/> it is refreshed when it
        /// expires or Twitch answers 401 (with <see cref="ClientSecret"/> too for confidential
        /// applications); read the new tokens back from <see cref="DropsClient.UserToken"/>.
        /// A credential: never logged.</summary>
        public string UserAccessToken { get; set; }

        /// <summary>The refresh token of <see cref="UserAccessToken"/> (a credential: never logged).</summary>
        public string UserRefreshToken { get; set; }

        /// <summary>The Helix base URL (default <c>https://api.twitch.tv/helix</c>).</summary>
        public string HelixUrl { get; set; }

        /// <summary>The OAuth base URL (default <c>https://id.twitch.tv/oauth2</c>).</summary>
        public string AuthUrl { get; set; }

        /// <summary>The User-Agent header, if not the library's.</summary>
        public string UserAgent { get; set; }

        /// <summary>Your HTTP stack, if not the library's built-in HTTPS: every request the client
        /// makes (tokens, pages, updates, downloads) is handed to it, on the thread of the call,
        /// concurrently when several threads share the client. Return any status as a
        /// <see cref="DropsHttpResponse"/>; throw <see cref="DropsTransportException"/> when no
        /// whole response came back. It must not call the same client. Needed on platforms whose
        /// native library is built without the built-in transport (consoles).</summary>
        public Func<DropsHttpRequest, DropsHttpResponse> Transport { get; set; }

        /// <summary>Hears what the client does, at <see cref="LogLevel"/> and above: its level,
        /// what it is about (<c>twitch_drops::retry</c>, <c>::http</c>, <c>::rate_limit</c>,
        /// <c>::token</c>, <c>::fulfill</c>) and one line for people that never holds a secret.
        /// Called on the thread where the library decided (a worker thread during a
        /// fulfillment), possibly at once from several: in Unity, e.g.
        /// <c>(level, target, message) =&gt; Debug.Log("[" + target + "] " + message)</c>, which
        /// is thread-safe. What it throws is ignored.</summary>
        public Action<DropsLogLevel, string, string> Log { get; set; }

        /// <summary>The lowest level <see cref="Log"/> hears (default <see cref="DropsLogLevel.Warn"/>:
        /// retries and waits for the rate limit).</summary>
        public DropsLogLevel LogLevel { get; set; } = DropsLogLevel.Warn;

        /// <summary>The client id and endpoints; credentials are shown as &lt;redacted&gt;.</summary>
        public override string ToString()
        {
            return "DropsClientConfig(ClientId = " + ClientId
                + ", ClientSecret = " + (ClientSecret == null ? "none" : "<redacted>")
                + ", AccessToken = " + (AccessToken == null ? "none" : "<redacted>")
                + ", UserAccessToken = " + (UserAccessToken == null ? "none" : "<redacted>")
                + ", UserRefreshToken = " + (UserRefreshToken == null ? "none" : "<redacted>")
                + ", HelixUrl = " + (HelixUrl ?? "default")
                + ", AuthUrl = " + (AuthUrl ?? "default")
                + ", Transport = " + (Transport == null ? "built-in" : "custom")
                + ", Log = " + (Log == null ? "none" : LogLevel.ToString()) + ")";
        }
    }

    /// <summary>How much a log line matters.</summary>
    public enum DropsLogLevel
    {
        /// <summary>Something failed for good.</summary>
        Error = 1,
        /// <summary>A human should notice: retries, waits for the rate limit, a viewer quarantined.</summary>
        Warn = 2,
        /// <summary>The run's milestones: tokens, journal recovery, passes over the list.</summary>
        Info = 3,
        /// <summary>Every request and its answer.</summary>
        Debug = 4,
    }
}
