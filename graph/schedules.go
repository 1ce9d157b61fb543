package graph

// maxNextFireTimes bounds Schedule.nextFireTimes' count.
const maxNextFireTimes = 20
