export { EVENT_TYPES, appendEvents, appendInvitationEvents, appendMemberEvents } from './append';
export type { EventSql, EventType, InvitationEventType, MemberEventType, NewEvent } from './append';
export { EventLogService, type EventPage, type EventView } from './event-log.service';
export { DELIVER_WEBHOOKS_TASK, endpointJobKey } from './names';
