/** The graphile-worker task that drains one endpoint's deliveries (payload `{ endpointId }`). */
export const DELIVER_WEBHOOKS_TASK = 'deliver_webhooks';

/** One job key per endpoint: however many events arrive, an endpoint has at most one waiting job. */
export function endpointJobKey(endpointId: string): string {
  return `webhook:${endpointId}`;
}

/** endpointJobKey in SQL, for a column or expression holding the endpoint id. */
export function endpointJobKeySql(column: string): string {
  return `'webhook:' || ${column}`;
}
