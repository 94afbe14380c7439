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

        /// <summary>How patient the client is (retries, backoff, rate-limit waits); null: the
        /// library's defaults (<see cref="DropsRetryPolicy.Default"/>).</summary>
        public DropsRetryPolicy RetryPolicy { get; set; }

        /// <summary>The built-in transport's connect timeout (default 10 s); with
        /// <see cref="ReadTimeout"/>. Not used by a <see cref="Transport"/> of yours.</summary>
        public TimeSpan? ConnectTimeout { get; set; }

        /// <summary>The built-in transport's wait for the response headers, and again for the
        /// body (default 30 s).</summary>
        public TimeSpan? ReadTimeout { get; set; }

        /// <summary>The largest response body the built-in transport reads (default 16 MiB).</summary>
        public long? MaxBodyBytes { get; set; }

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

    /// <summary>How patient a client is; start from <see cref="Default"/>.</summary>
    public sealed class DropsRetryPolicy
    {
        /// <summary>Retries of one request after a 5xx, a transport failure or an unreadable body.</summary>
        public int MaxRetries { get; set; }
        /// <summary>The first backoff; each retry doubles it (with jitter) up to <see cref="MaxDelay"/>.</summary>
        public TimeSpan BaseDelay { get; set; }
        /// <summary>The longest single backoff.</summary>
        public TimeSpan MaxDelay { get; set; }
        /// <summary>Waits for the rate-limit bucket (429) one request may take before failing.</summary>
        public int MaxRateLimitWaits { get; set; }
        /// <summary>Extra rounds for ids Twitch answered UPDATE_FAILED.</summary>
        public int UpdateFailedRetries { get; set; }

        /// <summary>The library's defaults.</summary>
        public static DropsRetryPolicy Default
        {
            get
            {
                var p = TwitchDrops.Native.NativeMethods.td_retry_policy_default();
                return new DropsRetryPolicy
                {
                    MaxRetries = (int)p.max_retries,
                    BaseDelay = TimeSpan.FromTicks((long)p.base_delay_ms * TimeSpan.TicksPerMillisecond),
                    MaxDelay = TimeSpan.FromTicks((long)p.max_delay_ms * TimeSpan.TicksPerMillisecond),
                    MaxRateLimitWaits = (int)p.max_rate_limit_waits,
                    UpdateFailedRetries = (int)p.update_failed_retries,
                };
            }
        }

        /// <summary>The numbers.</summary>
        public override string ToString()
        {
            return "DropsRetryPolicy(" + MaxRetries + " retries, " + BaseDelay.TotalMilliseconds + "-" + MaxDelay.TotalMilliseconds
                + " ms, " + MaxRateLimitWaits + " rate-limit waits, " + UpdateFailedRetries + " update rounds)";
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
