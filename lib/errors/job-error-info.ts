/** The last error a job's handler raised, kept on the row. */
export interface JobErrorInfo {
  name: string;
  message: string;
  stack?: string;
  attempt: number;
  at: string;
}
