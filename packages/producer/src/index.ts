export { HeraldError, type MessageInput } from "@herald/protocol";
export { HeraldProducer, type ProducerOptions } from "./producer.js";
